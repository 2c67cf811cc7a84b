using Microsoft.Extensions.DependencyInjection;

namespace MultimodalHub.Web.Services.Evaluation;

public static class EvaluationServices
{
    /// <summary>The Evaluate page's services (transient: they use the typed, transient <see cref="Client.InferenceClient"/>).</summary>
    public static IServiceCollection AddEvaluation(this IServiceCollection services)
    {
        services.AddTransient<PerplexityScorer>();
        services.AddTransient<ClipScorer>();
        services.AddTransient<YesNoRunner>();
        services.AddTransient<ArenaRunner>();
        return services;
    }
}
