namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>Registers the Clip engine's services, CLI commands and HTTP endpoints.</summary>
public static class ClipModule
{
    public static IServiceCollection AddClipEngine(this IServiceCollection services)
    {
        services.AddOptions<ClipOptions>().BindConfiguration(ClipOptions.Section);
        services.AddSingleton<ClipEngine>();
        services.AddSingleton<MultimodalHub.Inference.Runtime.IWarmUp, ClipWarmUp>();
        services.AddSingleton<Cli.ICliCommand, ClipCommand>();
        return services;
    }

    public static IEndpointRouteBuilder MapClipEndpoints(this IEndpointRouteBuilder app) => ClipEndpoints.Map(app);
}
