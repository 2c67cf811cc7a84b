using System.Net.Http.Headers;
using System.Net.Http.Json;
using MultimodalHub.Contracts;

namespace MultimodalHub.Inference.Gateway;

/// <summary>
/// GET /v1/images/jobs through the gateway: every ready worker is asked at once (with the caller's Authorization) and
/// the lists are merged newest first, as one worker orders its own (by <c>created</c>; jobs of one worker keep that
/// worker's order). Each listed job's worker is remembered, so its status, events and cancel go straight to it. A
/// worker that refuses the caller (401, 403) answers for all; one that cannot be reached is left out (its jobs went
/// with it) and logged; 502 when none answered, 503 when none is ready.
/// </summary>
public sealed partial class GatewayJobList(WorkerPool pool, IHttpClientFactory clients, GatewayMetrics metrics, ILogger<GatewayJobList> logger)
{
    public const string Client = "gateway-job-list";

    /// <summary>One worker's answer: its list, or the refusal to pass on, or why it could not be read.</summary>
    private sealed record Answer(Worker Worker, ImageJobList? List, HttpResponseMessage? Refusal, string? Failure);

    public async Task ListAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var workers = pool.Workers.Where(w => w.Ready).ToList();
        if (workers.Count == 0)
        {
            await GatewayProxy.ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "No worker available", "No worker is ready to list its image jobs.");
            return;
        }
        var answers = await Task.WhenAll(workers.Select(w => AskAsync(w, context.Request.Headers.Authorization.ToString(), ct)));
        try
        {
            if (answers.FirstOrDefault(a => a.Refusal is not null) is { Refusal: { } refusal } refused)
            {
                context.Response.StatusCode = (int)refusal.StatusCode;
                context.Response.ContentType = refusal.Content.Headers.ContentType?.ToString();
                context.Response.Headers[GatewayProxy.WorkerHeader] = refused.Worker.Name;
                await refusal.Content.CopyToAsync(context.Response.Body, ct);
                return;
            }
            var listed = answers.Where(a => a.List is not null).ToList();
            if (listed.Count == 0)
            {
                await GatewayProxy.ProblemAsync(context, StatusCodes.Status502BadGateway, "Workers failed",
                    "No worker answered the job list: " + string.Join("; ", answers.Select(a => $"{a.Worker.Name}: {a.Failure}")));
                return;
            }
            foreach (var a in listed)
                foreach (var job in a.List!.Data)
                    pool.RememberJob(job.Id, a.Worker);
            // OrderByDescending is stable: jobs created in the same second keep their worker's (finer) order.
            var merged = listed.SelectMany(a => a.List!.Data).DistinctBy(j => j.Id).OrderByDescending(j => j.Created).ToList();
            context.Response.Headers[GatewayProxy.WorkerHeader] = string.Join(", ", listed.Select(a => a.Worker.Name));
            await context.Response.WriteAsJsonAsync(new ImageJobList("list", merged), HubJson.Create(), ct);
        }
        finally
        {
            foreach (var a in answers)
                a.Refusal?.Dispose();
        }
    }

    private async Task<Answer> AskAsync(Worker worker, string authorization, CancellationToken ct)
    {
        worker.Begin();
        metrics.Outstanding(worker);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(worker.BaseUrl, "v1/images/jobs"));
            if (authorization.Length > 0 && AuthenticationHeaderValue.TryParse(authorization, out var auth))
                request.Headers.Authorization = auth;
            var response = await clients.CreateClient(Client).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            metrics.Request(worker, $"{(int)response.StatusCode / 100}xx");
            if (response.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
                return new Answer(worker, null, response, null);
            using (response)
            {
                if (!response.IsSuccessStatusCode)
                    return Failed(worker, $"HTTP {(int)response.StatusCode}");
                return new Answer(worker, await response.Content.ReadFromJsonAsync<ImageJobList>(HubJson.Create(), ct), null, null);
            }
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException || e is TaskCanceledException && !ct.IsCancellationRequested)
        {
            metrics.Request(worker, "failed");
            return Failed(worker, e.Message);
        }
        finally
        {
            worker.End();
            metrics.Outstanding(worker);
        }
    }

    private Answer Failed(Worker worker, string failure)
    {
        LogFailed(worker.Name, failure);
        return new Answer(worker, null, null, failure);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Worker} did not list its image jobs; the list leaves them out ({Error})")]
    private partial void LogFailed(string worker, string error);
}
