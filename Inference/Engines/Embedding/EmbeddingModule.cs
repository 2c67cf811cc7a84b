namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>Registers the sentence-embedding engine's services, CLI commands and the /v1/embeddings route.</summary>
public static class EmbeddingModule
{
    public static IServiceCollection AddEmbeddingEngine(this IServiceCollection services)
    {
        services.AddOptions<EmbeddingOptions>().BindConfiguration(EmbeddingOptions.Section);
        services.AddSingleton<EmbeddingEngine>();
        services.AddSingleton<MultimodalHub.Inference.Runtime.IWarmUp, EmbeddingWarmUp>();
        services.AddSingleton<Cli.ICliCommand, ImportNuGetCommand>();
        return services;
    }

    public static IEndpointRouteBuilder MapEmbeddingEndpoints(this IEndpointRouteBuilder app) => EmbeddingEndpoints.Map(app);
}
