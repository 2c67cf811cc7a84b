using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MultimodalHub.Web.Hosting;

/// <summary>/readyz body: {"status":"healthy","checks":[{"name":"database","status":"healthy","description":...}]}.</summary>
public static class HealthResponse
{
    public static Task WriteAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString().ToLowerInvariant(),
            checks = report.Entries.Select(e => new
            {
                name = e.Key,
                status = e.Value.Status.ToString().ToLowerInvariant(),
                description = e.Value.Description ?? e.Value.Exception?.Message,
            }),
        };
        return JsonSerializer.SerializeAsync(http.Response.Body, body, cancellationToken: http.RequestAborted);
    }
}
