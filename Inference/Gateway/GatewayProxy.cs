using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using Yarp.ReverseProxy.Forwarder;

namespace MultimodalHub.Inference.Gateway;

/// <summary>
/// Forwards one /v1 request (YARP's <see cref="IHttpForwarder"/>) to the best worker: one that serves the model named in
/// the JSON body or form (or, without one, a model of the endpoint's kind), fewest requests in flight first. The body is
/// buffered first (to read the model, and so that it can be sent again): a worker that answers 429 or cannot be
/// connected to is left for the next candidate, since it has not taken the request. A worker that fails after the
/// request was sent is not retried (it may have run it): the client gets a 502 naming the worker, or a cut stream when
/// the answer had begun. Image jobs stay with the worker that owns them (job id → worker from the 202's Location).
/// </summary>
public sealed partial class GatewayProxy(
    IHttpForwarder forwarder, WorkerPool pool, GatewayMetrics metrics, IOptions<GatewayOptions> options, TimeProvider time, ILogger<GatewayProxy> logger) : IDisposable
{
    public const string WorkerHeader = "X-Hub-Worker";
    private const string JobsPath = "/v1/images/jobs";

    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
    });

    public void Dispose() => _client.Dispose();

    public async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        var ct = context.RequestAborted;
        string? model = null;
        if (request.ContentLength > options.Value.MaxRequestBytes)
        {
            await ProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "Request too large", $"The gateway takes bodies of at most {options.Value.MaxRequestBytes} bytes.");
            return;
        }
        if (HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method))
        {
            request.EnableBuffering(bufferThreshold: 1024 * 1024, bufferLimit: options.Value.MaxRequestBytes);
            try
            {
                model = await ModelOfAsync(request, ct);
            }
            catch (IOException e)
            {
                await ProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "Request too large", e.Message);
                return;
            }
        }

        var path = request.Path.Value ?? "";
        IReadOnlyList<Worker> candidates;
        var jobId = JobIdOf(path);
        if (jobId is not null)
            candidates = pool.JobOwner(jobId) is { } owner ? [owner] : pool.Candidates(null, ModelKind.Diffusion); // unknown here: ask each
        else
        {
            candidates = pool.Candidates(model, KindOf(path));
            if (candidates.Count == 0)
            {
                if (model is not null && !pool.AnyKnows(model))
                    await ProblemAsync(context, StatusCodes.Status404NotFound, "Unknown model", $"No worker serves the model '{model}'.", "model");
                else
                    await ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "No worker available",
                        $"No ready worker serves {(model is null ? $"this endpoint ({path})" : $"the model '{model}'")}: {Describe(pool.Workers)}.");
                return;
            }
        }

        for (var i = 0; i < candidates.Count; i++)
        {
            var worker = candidates[i];
            var last = i == candidates.Count - 1;
            if (request.Body.CanSeek)
                request.Body.Position = 0;
            var transformer = new Transformer(worker, pool, jobId is not null, last, jobId is null && IsJobSubmit(request));
            worker.Begin();
            metrics.Outstanding(worker);
            ForwarderError error;
            try
            {
                error = await forwarder.SendAsync(context, worker.BaseUrl.GetLeftPart(UriPartial.Authority), _client,
                    new ForwarderRequestConfig { ActivityTimeout = options.Value.RequestTimeout }, transformer);
            }
            finally
            {
                worker.End();
                metrics.Outstanding(worker);
            }

            if (transformer.Moved is { } reason)
            {
                // The worker did not take the request (busy, or it does not know the job): next candidate.
                if (reason == "busy")
                    worker.MarkBusy(time.GetUtcNow() + options.Value.BusyBackoff);
                metrics.Moved(worker, reason);
                context.Response.Clear();
                continue;
            }
            if (error == ForwarderError.None)
            {
                metrics.Request(worker, $"{context.Response.StatusCode / 100}xx");
                return;
            }

            var failure = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            if (error == ForwarderError.Request && NotSent(failure) && !context.Response.HasStarted)
            {
                // Never reached the worker: it is down. Take it out until the next probe finds it ready, and move on.
                worker.Ready = false;
                worker.Problem = failure?.Message;
                metrics.WorkerReady(worker);
                metrics.Moved(worker, "connect");
                LogMoved(worker.Name, failure?.Message);
                context.Features.Set<IForwarderErrorFeature>(null);
                context.Response.Clear();
                if (last)
                    await ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "No worker available",
                        $"No worker could be reached for this request: {Describe(candidates)}.");
                continue;
            }

            metrics.Request(worker, "failed");
            LogFailed(worker.Name, error, failure?.Message);
            if (!context.Response.HasStarted && !ct.IsCancellationRequested)
            {
                context.Response.Clear();
                await ProblemAsync(context, StatusCodes.Status502BadGateway, "Worker failed",
                    $"The worker {worker.Name} failed while handling the request ({error}: {failure?.Message}). It was not retried elsewhere because it may already have run.");
            }
            return;
        }
        if (!context.Response.HasStarted && jobId is not null)
            await ProblemAsync(context, StatusCodes.Status404NotFound, "Unknown job", $"No worker knows the image job '{jobId}'.");
    }

    /// <summary>The "model" of a JSON body (top-level string) or of a form; null when there is none.</summary>
    internal static async Task<string?> ModelOfAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            if (request.HasFormContentType)
            {
                var form = await request.ReadFormAsync(ct);
                return form.TryGetValue("model", out var m) && !string.IsNullOrWhiteSpace(m) ? m.ToString() : null;
            }
            if (request.ContentType is { } type && MediaTypeHeaderValue.TryParse(type, out var media) && media.MediaType?.EndsWith("json", StringComparison.OrdinalIgnoreCase) == true)
            {
                using var doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
                return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String
                    && !string.IsNullOrWhiteSpace(m.GetString()) ? m.GetString() : null;
            }
            await request.Body.CopyToAsync(Stream.Null, ct); // buffer it all (for a retry), whatever it is
            return null;
        }
        catch (JsonException)
        {
            return null; // the worker answers the bad JSON with its 400
        }
        catch (InvalidDataException)
        {
            return null;
        }
        finally
        {
            request.Body.Position = 0;
        }
    }

    /// <summary>Which kind of model an endpoint needs, for requests that name none (the worker picks its default).</summary>
    internal static ModelKind? KindOf(string path) => path switch
    {
        _ when path.StartsWith("/v1/classify", StringComparison.Ordinal) => ModelKind.Clip,
        _ when path.StartsWith("/v1/caption", StringComparison.Ordinal) || path.StartsWith("/v1/vqa", StringComparison.Ordinal) => ModelKind.Vlm,
        _ when path.StartsWith("/v1/images", StringComparison.Ordinal) || path.StartsWith("/v1/schedulers", StringComparison.Ordinal) => ModelKind.Diffusion,
        _ when path.StartsWith("/v1/chat", StringComparison.Ordinal) || path.StartsWith("/v1/completions", StringComparison.Ordinal) => ModelKind.Chat,
        _ => null, // embeddings (sentence encoder or CLIP), anything else: any ready worker
    };

    /// <summary>The job id of /v1/images/jobs/{id}[/events]; null for other paths (and the job list).</summary>
    internal static string? JobIdOf(string path)
    {
        if (!path.StartsWith(JobsPath + "/", StringComparison.Ordinal))
            return null;
        var rest = path[(JobsPath.Length + 1)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var id = slash < 0 ? rest : rest[..slash];
        return id.Length > 0 ? id : null;
    }

    private static bool IsJobSubmit(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && string.Equals(request.Path.Value?.TrimEnd('/'), JobsPath, StringComparison.Ordinal);

    /// <summary>True when the request certainly never reached the worker (no connection was made).</summary>
    private static bool NotSent(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } || e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused })
                return true;
        return false;
    }

    private static string Describe(IEnumerable<Worker> workers) =>
        string.Join("; ", workers.Select(w => $"{w.Name} {(w.Ready ? "ready" : "not ready")}{(w.Problem is null ? "" : $" ({w.Problem})")}"));

    internal static Task ProblemAsync(HttpContext context, int status, string title, string detail, string? field = null)
    {
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail };
        if (field is not null)
            problem.Extensions["field"] = field;
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(problem, options: null, contentType: "application/problem+json", context.RequestAborted);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Worker} could not be reached; moving the request on ({Error})")]
    private partial void LogMoved(string worker, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Worker} failed a request ({Kind}): {Error}")]
    private partial void LogFailed(string worker, ForwarderError kind, string? error);

    /// <summary>Copies the answer through unless the worker did not take the request and another can (then <see cref="Moved"/> says why).</summary>
    private sealed class Transformer(Worker worker, WorkerPool pool, bool jobRoute, bool last, bool jobSubmit) : HttpTransformer
    {
        public string? Moved { get; private set; }

        public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            if (proxyResponse is not null && !last)
            {
                if (proxyResponse.StatusCode == HttpStatusCode.TooManyRequests)
                    Moved = "busy";
                else if (jobRoute && proxyResponse.StatusCode == HttpStatusCode.NotFound)
                    Moved = "unknown-job";
                if (Moved is not null)
                    return false;
            }
            var copy = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
            httpContext.Response.Headers[WorkerHeader] = worker.Name;
            if (proxyResponse is not null && jobSubmit && proxyResponse.Headers.Location is { } location)
            {
                var id = JobIdOf(location.IsAbsoluteUri ? location.AbsolutePath : location.OriginalString);
                if (id is not null)
                    pool.RememberJob(id, worker);
            }
            else if (proxyResponse is { IsSuccessStatusCode: true } && jobRoute && JobIdOf(httpContext.Request.Path.Value ?? "") is { } known)
                pool.RememberJob(known, worker); // found by asking around: remember it
            return copy;
        }
    }
}
