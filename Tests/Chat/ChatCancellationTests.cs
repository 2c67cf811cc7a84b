using System.Collections.Concurrent;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MultimodalHub.Tests.Core;

namespace MultimodalHub.Tests.Chat;

/// <summary>A client that goes away mid-stream cancels the generation on the server (RequestAborted reaches the loop).</summary>
public sealed class ChatCancellationTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private sealed class CaptureLogs : ILoggerProvider
    {
        public ConcurrentQueue<string> Messages { get; } = new();
        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
        public void Dispose() { }

        private sealed class Logger(CaptureLogs owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (category.EndsWith("ChatEngine", StringComparison.Ordinal)) owner.Messages.Enqueue(formatter(state, exception));
            }
        }
    }

    [Fact]
    public async Task Dropping_a_streaming_request_cancels_its_generation()
    {
        var ct = TestContext.Current.CancellationToken;
        var logs = new CaptureLogs();
        using var factory = fixture.Factory.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<ILoggerProvider>(logs)));
        using var client = factory.CreateClient();
        // Hot sampling, 8 choices with seeds 22..29: run alone, the longest choice (seed 24) takes 1,245 batched steps, so
        // the request is still running when dropped (one choice alone, e.g. seed 3, ends after 73 tokens: too quick to race).
        var body = new { prompt = "one, two, three,", temperature = 5.0, top_k = 0, top_p = 1.0, seed = 22, n = 8, max_tokens = 1500, stream = true };
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = JsonContent.Create(body) })
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct))
        {
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            Assert.StartsWith("data: ", await reader.ReadLineAsync(ct));
        } // the client goes away here
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!logs.Messages.Any(m => m.Contains("cancelled", StringComparison.Ordinal)) && DateTime.UtcNow < deadline) await Task.Delay(50, ct);
        Assert.Contains(logs.Messages, m => m.Contains("cancelled", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains("1500 generated", StringComparison.Ordinal));
    }
}
