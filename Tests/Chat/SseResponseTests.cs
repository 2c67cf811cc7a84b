using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Tests.Chat;

/// <summary>The one SSE path of chat, completions and the VLM: a failure after the stream started ends it normally.</summary>
public sealed class SseResponseTests
{
    private static (HttpContext Http, MemoryStream Body) Context()
    {
        var services = new ServiceCollection().AddLogging().BuildServiceProvider();
        var http = new DefaultHttpContext { RequestServices = services };
        var body = new MemoryStream();
        http.Response.Body = body;
        return (http, body);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failure_after_the_start_is_an_error_event_then_done(bool invalid)
    {
        var (http, body) = Context();
        var result = await SseResponse.RunAsync(http, "m", "chat", async (sse, ct) =>
        {
            await sse.WriteAsync(new { text = "partial" }, ct);
            throw invalid ? new InvalidRequestException("stop", "bad stop") : new InvalidOperationException("native failure with /secret/path");
        });
        Assert.NotNull(result);
        Assert.Equal("text/event-stream; charset=utf-8", http.Response.ContentType);
        var events = Encoding.UTF8.GetString(body.ToArray()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, events.Length);
        Assert.Equal("data: {\"text\":\"partial\"}", events[0]);
        Assert.Contains(invalid ? "\"invalid_request_error\"" : "\"server_error\"", events[1]);
        Assert.DoesNotContain("/secret/path", events[1]);
        Assert.Equal("data: [DONE]", events[2]);
    }

    [Fact]
    public async Task A_cancelled_stream_is_not_turned_into_an_error_event()
    {
        var (http, body) = Context();
        using var cts = new CancellationTokenSource();
        http.RequestAborted = cts.Token;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => SseResponse.RunAsync(http, "m", "chat", (_, ct) =>
        {
            cts.Cancel();
            ct.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        }));
        Assert.DoesNotContain("error", Encoding.UTF8.GetString(body.ToArray()));
    }
}
