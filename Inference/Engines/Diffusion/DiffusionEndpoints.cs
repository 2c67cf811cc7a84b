using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Diffusion.Schedulers;
using MultimodalHub.Inference.Hosting;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// POST /v1/images/generations (synchronous, OpenAI-compatible), the job API (POST /v1/images/jobs, GET .../{id},
/// GET .../{id}/events as server-sent events, DELETE .../{id}) and GET /v1/schedulers.
/// </summary>
public static class DiffusionEndpoints
{
    private static readonly JsonSerializerOptions Json = HubJson.Create();

    public static IEndpointRouteBuilder MapDiffusionEndpointsCore(this IEndpointRouteBuilder app)
    {
        var images = app.MapGroup("/v1/images").WithTags("images");
        images.MapPost("/generations", Generate).Accepts<ImageGenerationRequest>("application/json")
            .WithSummary("Generate images (waits for the result).");
        images.MapPost("/jobs", Submit).Accepts<ImageGenerationRequest>("application/json")
            .WithSummary("Queue a generation; follow it with GET /v1/images/jobs/{id}/events.");
        images.MapGet("/jobs", List).WithSummary("Recent jobs, newest first (without their images: GET /v1/images/jobs/{id} has them).");
        images.MapGet("/jobs/{id}", Get).WithSummary("A job's status, progress and (when done) result.");
        images.MapGet("/jobs/{id}/events", Events).WithSummary("Server-sent events: queued, started, progress, preview, image, then completed | failed | cancelled.");
        images.MapDelete("/jobs/{id}", Cancel).WithSummary("Cancel a queued or running job (or forget a finished one).");
        app.MapGet("/v1/schedulers", Schedulers).WithTags("images");
        return app;
    }

    internal static async Task<Ok<ImageGenerationResponse>> Generate(HttpRequest http, DiffusionService service, CancellationToken ct)
    {
        var request = await ReadAsync(http, ct);
        var plan = await service.PlanAsync(request, ct);
        return TypedResults.Ok(await service.GenerateAsync(plan, ct));
    }

    internal static async Task<Accepted<ImageJobInfo>> Submit(HttpRequest http, ImageJobs jobs, CancellationToken ct)
    {
        var request = await ReadAsync(http, ct);
        var job = await jobs.SubmitAsync(request, ct, ApiKeyAuth.KeyOf(http.HttpContext)?.OwnerId);
        return TypedResults.Accepted($"/v1/images/jobs/{job.Id}", job.Info());
    }

    internal static Ok<ImageJobList> List(HttpContext http, ImageJobs jobs) =>
        TypedResults.Ok(new ImageJobList("list", jobs.List().Where(j => Visible(j, http)).Select(j => j.Info(withResult: false)).ToList()));

    internal static Results<Ok<ImageJobInfo>, ProblemHttpResult> Get(string id, HttpContext http, ImageJobs jobs) =>
        Find(id, http, jobs) is { } job ? TypedResults.Ok(job.Info()) : NotFound(id);

    internal static Results<ServerSentEventsResult<string>, ProblemHttpResult> Events(string id, HttpContext http, ImageJobs jobs, CancellationToken ct) =>
        Find(id, http, jobs) is { } job ? TypedResults.ServerSentEvents(Stream(job, ct)) : NotFound(id);

    internal static async Task<Results<Ok<ImageJobInfo>, ProblemHttpResult>> Cancel(string id, HttpContext http, ImageJobs jobs, CancellationToken ct) =>
        Find(id, http, jobs) is not null && await jobs.CancelAsync(id, ct) is { } job ? TypedResults.Ok(job.Info()) : NotFound(id);

    /// <summary>A job another account's key submitted answers as an unknown one (404), as the web app's stores do.</summary>
    private static ImageJob? Find(string id, HttpContext http, ImageJobs jobs) => jobs.Get(id) is { } job && Visible(job, http) ? job : null;

    /// <summary>Without key checks (loopback) every job; with them, a user's key sees its account's jobs, admin keys and
    /// the web app's service key see all.</summary>
    private static bool Visible(ImageJob job, HttpContext http) =>
        ApiKeyAuth.KeyOf(http) is not { } key || key.IsService || key.IsAdmin || string.Equals(job.Owner, key.OwnerId, StringComparison.Ordinal);

    internal static Ok<SchedulerList> Schedulers() =>
        TypedResults.Ok(new SchedulerList("list", SchedulerCatalog.All.Select(e => new SchedulerInfo(e.Name, e.Description, e.Aliases, e.DefaultSteps)).ToList()));

    private static async IAsyncEnumerable<SseItem<string>> Stream(ImageJob job, [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var e in job.ReadEventsAsync(ct)) yield return new SseItem<string>(e.Data, e.Name);
    }

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem($"No image job '{id}' (finished jobs are kept for a limited time).", statusCode: 404, title: "Job not found");

    private static Task<ImageGenerationRequest> ReadAsync(HttpRequest http, CancellationToken ct) => JsonRequestBody.ReadAsync<ImageGenerationRequest>(http, Json, ct);
}
