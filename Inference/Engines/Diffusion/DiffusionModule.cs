using MultimodalHub.Inference.Cli;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Registers the Diffusion engine's services, CLI commands and HTTP endpoints.</summary>
public static class DiffusionModule
{
    public static IServiceCollection AddDiffusionEngine(this IServiceCollection services)
    {
        services.AddOptions<DiffusionOptions>().BindConfiguration(DiffusionOptions.Section);
        services.AddSingleton<DiffusionService>();
        services.AddSingleton<MultimodalHub.Inference.Runtime.IWarmUp, DiffusionWarmUp>();
        services.AddSingleton<ImageJobs>();
        services.AddHostedService(sp => sp.GetRequiredService<ImageJobs>());
        services.AddSingleton<ICliCommand, ImagineCommand>();
        return services;
    }

    public static IEndpointRouteBuilder MapDiffusionEndpoints(this IEndpointRouteBuilder app) => app.MapDiffusionEndpointsCore().MapImageEditEndpoints();
}
