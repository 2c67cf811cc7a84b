using MultimodalHub.Inference.Cli;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>Registers the Chat engine's services, CLI commands and HTTP endpoints.</summary>
public static class ChatModule
{
    public static IServiceCollection AddChatEngine(this IServiceCollection services)
    {
        services.AddOptions<ChatOptions>().BindConfiguration(ChatOptions.Section);
        services.AddSingleton<ChatEngine>();
        services.AddSingleton<MultimodalHub.Inference.Runtime.IWarmUp, ChatWarmUp>();
        services.AddSingleton<ICliCommand, ChatCommand>();
        return services;
    }

    public static IEndpointRouteBuilder MapChatEndpoints(this IEndpointRouteBuilder app) => app.MapChat();
}
