using Microsoft.AspNetCore.Http.HttpResults;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Engines.Diffusion;
using MultimodalHub.Inference.Engines.Embedding;
using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hosting;

/// <summary>
/// Loading and unloading models on request (the Home page's Load/Unload buttons): POST /v1/models/{id}/load, /unload,
/// /pin and /unpin, each answering the model's entry as GET /v1/models/{id} does. A model loads through its engine,
/// exactly as its first request would load it (sessions, warm-up run).
/// </summary>
public static class ModelManagement
{
    public static IEndpointRouteBuilder MapModelManagement(this IEndpointRouteBuilder app)
    {
        var models = app.MapGroup("/v1/models/{id}").WithTags("models").RequireAdminKey();
        models.MapPost("/load", (string id, IServiceProvider services, CancellationToken ct) => LoadAsync(id, services, pin: null, ct));
        models.MapPost("/pin", (string id, IServiceProvider services, CancellationToken ct) => LoadAsync(id, services, pin: true, ct));
        models.MapPost("/unpin", Unpin);
        models.MapPost("/unload", Unload);
        return app;
    }

    /// <summary>Load (if needed) through the model's engine; pin or not. 404 unknown model, 400 unusable files, 503 failed load.</summary>
    internal static async Task<Ok<ModelInfo>> LoadAsync(string id, IServiceProvider services, bool? pin, CancellationToken ct)
    {
        var registry = services.GetRequiredService<ModelRegistry>();
        var loaded = services.GetRequiredService<LoadedModels>();
        var model = Known(registry, id);
        if (model.Error is not null || model.Kind == ModelKind.Unknown)
            throw new InvalidRequestException("id", $"Model '{model.Id}' cannot be loaded: {model.Error ?? "its layout is not recognised"}");
        using (await AcquireAsync(model, services, ct))
        {
            if (pin is { } p) loaded.Pin(model.Id, p);
        }
        return TypedResults.Ok(CoreEndpoints.Info(model, loaded, services.GetRequiredService<OrtSessionFactory>()));
    }

    internal static Ok<ModelInfo> Unpin(string id, ModelRegistry registry, LoadedModels loaded, OrtSessionFactory sessions)
    {
        var model = Known(registry, id);
        loaded.Pin(model.Id, false);
        return TypedResults.Ok(CoreEndpoints.Info(model, loaded, sessions));
    }

    /// <summary>Unload now (pinned or not); 409 while a request is using the model. Unloading a model that is not loaded is fine.</summary>
    internal static Results<Ok<ModelInfo>, ProblemHttpResult> Unload(string id, ModelRegistry registry, LoadedModels loaded, OrtSessionFactory sessions)
    {
        var model = Known(registry, id);
        return loaded.Unload(model.Id) == UnloadResult.InUse
            ? TypedResults.Problem($"Model '{model.Id}' is running a request; unload it when it is idle.", statusCode: StatusCodes.Status409Conflict, title: "Model in use")
            : TypedResults.Ok(CoreEndpoints.Info(model, loaded, sessions));
    }

    private static ModelDescriptor Known(ModelRegistry registry, string id) =>
        registry.Find(id) ?? throw new ModelNotFoundException("id", $"Unknown model '{id}'. GET /v1/models lists the installed ones.");

    /// <summary>The model's lease, taken through its engine (which loads it on first use).</summary>
    private static async Task<IDisposable> AcquireAsync(ModelDescriptor model, IServiceProvider services, CancellationToken ct) => model.Kind switch
    {
        ModelKind.Chat => await services.GetRequiredService<ChatEngine>().AcquireAsync(model, ct),
        ModelKind.Clip => await services.GetRequiredService<ClipEngine>().AcquireAsync(model, ct),
        ModelKind.Vlm => await services.GetRequiredService<VlmEngine>().AcquireAsync(model, ct),
        ModelKind.Diffusion => await services.GetRequiredService<DiffusionService>().AcquireAsync(model, ct),
        ModelKind.Embedding => await services.GetRequiredService<EmbeddingEngine>().AcquireAsync(model, ct),
        _ => throw new InvalidRequestException("id", $"Model '{model.Id}' has no engine."),
    };
}

/// <summary>
/// Loads and pins the models named in Inference:Preload ("*": every usable model) when the service starts, one after
/// the other in the background, so their first requests find them loaded and warmed up. A model that fails is logged.
/// </summary>
internal sealed class Preloader(IServiceProvider services, Microsoft.Extensions.Options.IOptions<InferenceOptions> options, ILogger<Preloader> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var wanted = options.Value.Preload;
        if (wanted.Count == 0) return;
        await Task.Yield(); // let the host finish starting
        var registry = services.GetRequiredService<ModelRegistry>();
        var ids = wanted.Contains("*") ? registry.Models.Where(m => m.IsValid).Select(m => m.Id).ToList() : wanted;
        foreach (var id in ids)
        {
            try
            {
                await ModelManagement.LoadAsync(id, services, pin: true, stoppingToken);
            }
            catch (Exception e) when (e is InvalidRequestException or ModelLoadException)
            {
                log.LogWarning("Preloading model {ModelId} failed: {Reason}", id, e.Message);
            }
        }
    }
}
