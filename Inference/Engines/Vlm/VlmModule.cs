using MultimodalHub.Inference.Cli;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>Registers the Vlm engine's services, CLI commands and HTTP endpoints.</summary>
public static class VlmModule
{
    public static IServiceCollection AddVlmEngine(this IServiceCollection services)
    {
        services.AddOptions<VlmOptions>().BindConfiguration(VlmOptions.Section);
        services.AddSingleton<VlmEngine>();
        services.AddSingleton<MultimodalHub.Inference.Runtime.IWarmUp, VlmWarmUp>();
        services.AddSingleton<ICliCommand, CaptionCommand>();
        services.AddSingleton<ICliCommand, AskCommand>();
        return services;
    }

    public static IEndpointRouteBuilder MapVlmEndpoints(this IEndpointRouteBuilder app) => app.MapVlm();
}
