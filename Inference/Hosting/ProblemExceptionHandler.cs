using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hosting;

/// <summary>Maps the hub's exceptions to RFC 7807 problem details; anything else stays a 500 without internals.</summary>
internal sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        ProblemDetails? problem = exception switch
        {
            ModelNotFoundException e => Problem(StatusCodes.Status404NotFound, "Model not found", e.Message, e.Field),
            InvalidRequestException e => Problem(StatusCodes.Status400BadRequest, "Invalid request", e.Message, e.Field),
            BadHttpRequestException { InnerException: JsonException j } => Problem(StatusCodes.Status400BadRequest, "Malformed JSON", JsonDetail(j), JsonField(j)),
            // Wrong content type (415) keeps its status and names no field; an empty or unreadable body is the body's fault.
            BadHttpRequestException e => Problem(e.StatusCode, "Invalid request", e.Message, e.StatusCode == StatusCodes.Status400BadRequest ? "body" : null),
            JsonException e => Problem(StatusCodes.Status400BadRequest, "Malformed JSON", JsonDetail(e), JsonField(e)),
            QueueFullException e => Problem(StatusCodes.Status429TooManyRequests, "Too many requests", e.Message, null),
            ModelLoadException e => Problem(StatusCodes.Status503ServiceUnavailable, "Model unavailable", e.Message, "model"),
            Hub.PullException e => Problem(e.HttpStatus, "Pull failed", e.Message, e.Kind is Hub.PullErrorKind.NotFound or Hub.PullErrorKind.Unauthorized or Hub.PullErrorKind.Unsupported ? "repo" : null),
            _ => null,
        };
        if (exception is OperationCanceledException && http.RequestAborted.IsCancellationRequested)
        {
            log.LogInformation("Request {Path} cancelled by the client", http.Request.Path);
            http.Response.StatusCode = 499;
            return true;
        }
        if (problem is null) return false;
        if (exception is QueueFullException q)
            http.Response.Headers.RetryAfter = Math.Ceiling(q.RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.StatusCode = problem.Status!.Value;
        if (await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception }))
            return true;
        // The request accepts no JSON (a streaming client sends Accept: text/event-stream): an error before the stream
        // starts has no event stream to go in, so it is written as problem+json all the same (else the client would
        // get an empty 404, or an exception from the middleware).
        await TypedResults.Problem(problem).ExecuteAsync(http);
        return true;
    }

    /// <summary>The JSON path of a deserialization error as a field name ("$.messages[0].role" → "messages[0].role"; the root → "body").</summary>
    internal static string JsonField(JsonException e) =>
        e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..]
        : e.Path is { Length: > 1 } p && p.StartsWith("$[", StringComparison.Ordinal) ? "body" + p[1..]
        : "body";

    private static string JsonDetail(JsonException e) =>
        e.Path is { Length: > 1 } ? $"The JSON body is malformed or has the wrong shape at '{JsonField(e)}': {e.Message}" : $"The JSON body is malformed or has the wrong shape: {e.Message}";

    private static ProblemDetails Problem(int status, string title, string detail, string? field)
    {
        var p = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (field is not null)
        {
            p.Extensions["field"] = field;
            p.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [detail] };
        }
        return p;
    }
}
