namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>Registers the Chat engine's services, CLI commands and HTTP endpoints.</summary>
public static class ChatModule
{
    public static IServiceCollection AddChatEngine(this IServiceCollection services)
    {
        return services;
    }

    public static IEndpointRouteBuilder MapChatEndpoints(this IEndpointRouteBuilder app)
    {
        return app;
    }
}
