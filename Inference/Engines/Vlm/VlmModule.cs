namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>Registers the Vlm engine's services, CLI commands and HTTP endpoints.</summary>
public static class VlmModule
{
    public static IServiceCollection AddVlmEngine(this IServiceCollection services)
    {
        return services;
    }

    public static IEndpointRouteBuilder MapVlmEndpoints(this IEndpointRouteBuilder app)
    {
        return app;
    }
}
