using Microsoft.AspNetCore.Http.HttpResults;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Hosting;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hub;

/// <summary>
/// The pull API the web app's Models page uses: preview a pull (files and sizes of the chosen variant), start one as a
/// job, follow its progress, cancel it (its partial files are deleted), list jobs, and delete a model.
/// </summary>
public static class PullEndpoints
{
    public static IEndpointRouteBuilder MapPullEndpoints(this IEndpointRouteBuilder app)
    {
        var pulls = app.MapGroup("/v1/models/pulls").WithTags("models").RequireAdminKey();
        pulls.MapGet("", (ModelPuller puller) => TypedResults.Ok(new PullJobList(puller.Jobs.Select(j => j.Snapshot()).ToList())));
        pulls.MapGet("/preview", PreviewAsync);
        pulls.MapPost("", Start);
        pulls.MapGet("/{id}", Get);
        pulls.MapDelete("/{id}", Cancel);
        app.MapDelete("/v1/models/{id}", (string id, ModelPuller puller) => TypedResults.Ok(puller.Delete(id))).WithTags("models").RequireAdminKey();
        return app;
    }

    internal static async Task<Ok<PullPreview>> PreviewAsync(string? repo, string? revision, string? variant, string? kind, string? name,
        ModelPuller puller, CancellationToken ct) =>
        TypedResults.Ok(await puller.PreviewAsync(PullSpec.From(new ModelPullRequest(repo ?? "", revision, variant, kind, name)), null, ct));

    internal static Accepted<PullJobInfo> Start(ModelPullRequest request, ModelPuller puller)
    {
        if (request is null) throw new InvalidRequestException("body", "A JSON body with \"repo\" is required.");
        var job = puller.Start(PullSpec.From(request));
        return TypedResults.Accepted($"/v1/models/pulls/{job.Id}", job.Snapshot());
    }

    internal static Results<Ok<PullJobInfo>, ProblemHttpResult> Get(string id, ModelPuller puller) =>
        puller.Job(id) is { } job ? TypedResults.Ok(job.Snapshot()) : NoSuchJob(id);

    internal static async Task<Results<Ok<PullJobInfo>, ProblemHttpResult>> Cancel(string id, ModelPuller puller)
    {
        if (puller.Job(id) is not { } job) return NoSuchJob(id);
        if (puller.Cancel(id, discard: true))
        {
            try { await job.Completion; }
            catch (Exception e) when (e is OperationCanceledException or PullException) { }
        }
        return TypedResults.Ok(job.Snapshot());
    }

    private static ProblemHttpResult NoSuchJob(string id) =>
        TypedResults.Problem($"No pull job '{id}'. GET /v1/models/pulls lists them.", statusCode: 404, title: "Pull job not found");
}

/// <summary>At start, resumes the pulls a shutdown interrupted (their partial files are kept).</summary>
public sealed class PullResumer(ModelPuller puller) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        puller.ResumeInterrupted();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
