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
            BadHttpRequestException e => Problem(e.StatusCode, "Invalid request", e.Message, null),
            System.Text.Json.JsonException e => Problem(StatusCodes.Status400BadRequest, "Malformed JSON", e.Message, "body"),
            QueueFullException e => Problem(StatusCodes.Status429TooManyRequests, "Too many requests", e.Message, null),
            OperationCanceledException when http.RequestAborted.IsCancellationRequested => null,
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
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

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
