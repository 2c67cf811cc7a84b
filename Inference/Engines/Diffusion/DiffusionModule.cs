namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Registers the Diffusion engine's services, CLI commands and HTTP endpoints.</summary>
public static class DiffusionModule
{
    public static IServiceCollection AddDiffusionEngine(this IServiceCollection services)
    {
        return services;
    }

    public static IEndpointRouteBuilder MapDiffusionEndpoints(this IEndpointRouteBuilder app)
    {
        return app;
    }
}
