using Microsoft.AspNetCore.Http.HttpResults;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hosting;

/// <summary>/healthz, /readyz and GET /v1/models[/id].</summary>
public static class CoreEndpoints
{
    /// <summary>GET /v1/models rescans the model roots at most this often (the web app polls it).</summary>
    public static readonly TimeSpan ModelsRefreshInterval = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapCoreEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" })).WithTags("health").ExcludeFromDescription();
        app.MapGet("/readyz", Ready).WithTags("health");
        return app;
    }

    public static IEndpointRouteBuilder MapModelEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", ListModels).WithTags("models");
        app.MapGet("/v1/models/{id}", GetModel).WithTags("models");
        return app;
    }

    internal static Results<Ok<ReadinessReport>, JsonHttpResult<ReadinessReport>> Ready(ModelRegistry registry, Microsoft.Extensions.Options.IOptions<InferenceOptions> options)
    {
        var report = Readiness(registry, options.Value);
        return report.Status == "ready"
            ? TypedResults.Ok(report)
            : TypedResults.Json(report, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>Ready when every root is readable and every required model (all found, when none is configured) is valid.</summary>
    public static ReadinessReport Readiness(ModelRegistry registry, InferenceOptions options)
    {
        var checks = new List<ReadinessCheck>();
        foreach (var root in registry.Roots)
        {
            var error = registry.RootError(root);
            checks.Add(new ReadinessCheck($"root:{root}", error is null, error));
        }
        var required = options.RequiredModels.Count > 0
            ? options.RequiredModels
            : registry.Models.Select(m => m.Id).ToList();
        foreach (var id in required)
        {
            var model = registry.Find(id);
            checks.Add(model is null
                ? new ReadinessCheck($"model:{id}", false, $"Model '{id}' was not found in any models directory.")
                : new ReadinessCheck($"model:{id}", model.IsValid, model.Error));
        }
        if (registry.Models.Count == 0)
            checks.Add(new ReadinessCheck("models", false, "No models were found in the models directories."));
        var ok = checks.All(c => c.Ok);
        return new ReadinessReport(ok ? "ready" : "not_ready", registry.Roots, checks);
    }

    internal static Ok<ModelList> ListModels(ModelRegistry registry, LoadedModels loaded, OrtSessionFactory sessions)
    {
        registry.Refresh(ModelsRefreshInterval);
        return TypedResults.Ok(new ModelList("list", registry.Models.Select(m => Info(m, loaded, sessions)).ToList()));
    }

    internal static Results<Ok<ModelInfo>, ProblemHttpResult> GetModel(string id, ModelRegistry registry, LoadedModels loaded, OrtSessionFactory sessions)
    {
        var model = registry.Find(id);
        return model is null
            ? TypedResults.Problem($"Unknown model '{id}'. GET /v1/models lists the installed ones.", statusCode: 404, title: "Model not found")
            : TypedResults.Ok(Info(model, loaded, sessions));
    }

    internal static ModelInfo Info(ModelDescriptor m, LoadedModels loaded, OrtSessionFactory sessions)
    {
        var state = loaded.StateOf(m.Id);
        var load = state is null ? null : new ModelLoadInfo(state.LoadedAt, Math.Round(state.LoadTime.TotalMilliseconds, 1),
            state.WarmUpTime is { } w ? Math.Round(w.TotalMilliseconds, 1) : null, state.Providers, state.Pinned);
        // Loaded: the provider its sessions got (the first, when one graph fell back); not loaded: the one it will load on.
        var provider = state is { Providers.Count: > 0 } ? state.Providers[0] : sessions.ProviderFor(m.Id);
        return new(
            m.Id, "model", CreatedOf(m.Directory), "local", m.Kind,
            m.IsValid ? ModelStatus.Ready : ModelStatus.Error, state is not null, m.Directory, m.Files, m.Error,
            m.Variants?.Select(OnnxVariants.Name).ToList(), m.Variants is { Count: > 0 } ? OnnxVariants.Name(m.Variant) : null,
            provider, load);
    }

    private static long CreatedOf(string dir)
    {
        try { return new DateTimeOffset(Directory.GetLastWriteTimeUtc(dir)).ToUnixTimeSeconds(); }
        catch (IOException) { return 0; }
    }
}
