using System.Text.Json;
using MultimodalHub.Contracts;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>Server-sent events as OpenAI streams them: "data: {json}\n\n" per event, "data: [DONE]\n\n" at the end.</summary>
public sealed class SseWriter(HttpResponse response)
{
    private static readonly JsonSerializerOptions Json = HubJson.Create();

    public void Start()
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }

    public async ValueTask WriteAsync<T>(T value, CancellationToken ct)
    {
        await response.WriteAsync("data: " + JsonSerializer.Serialize(value, Json) + "\n\n", ct);
        await response.Body.FlushAsync(ct);
    }

    public async ValueTask DoneAsync(CancellationToken ct)
    {
        await response.WriteAsync("data: [DONE]\n\n", ct);
        await response.Body.FlushAsync(ct);
    }

    /// <summary>An error after the stream started (the status line is already sent): OpenAI's {"error": {...}} event.</summary>
    public async ValueTask ErrorAsync(string message, string type, string? param, CancellationToken ct)
    {
        await response.WriteAsync("data: " + JsonSerializer.Serialize(new { error = new { message, type, param } }, Json) + "\n\n", ct);
        await response.Body.FlushAsync(ct);
    }
}
