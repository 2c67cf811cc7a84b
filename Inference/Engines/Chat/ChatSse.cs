using System.Text.Json;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;

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

/// <summary>
/// The one streaming path of chat, completions and the VLM: everything that can fail with a status code (validation,
/// model load, the queue's 429) happens before <see cref="RunAsync"/>; it starts the SSE response, runs the body and
/// ends with [DONE]. A failure after the start is logged (the engine's RunAsync already counts it in
/// hub_inference_errors_total), sent as an OpenAI error event, and the stream
/// still ends normally with [DONE] (the status line is already sent; aborting would only look like a network error).
/// </summary>
public static class SseResponse
{
    public static async Task<IResult> RunAsync(HttpContext http, string model, string operation, Func<SseWriter, CancellationToken, Task> body)
    {
        var ct = http.RequestAborted;
        var sse = new SseWriter(http.Response);
        sse.Start();
        try
        {
            await body(sse, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is not OperationCanceledException)
        {
            if (e is InvalidRequestException invalid)
                await sse.ErrorAsync(invalid.Message, "invalid_request_error", invalid.Field, ct);
            else
            {
                var services = http.RequestServices;
                services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SseResponse))
                    .LogError(e, "{Operation} stream on {Model} failed after the response started", operation, model);
                await sse.ErrorAsync("Generation failed.", "server_error", null, ct);
            }
        }
        await sse.DoneAsync(ct);
        return TypedResults.Empty;
    }
}
