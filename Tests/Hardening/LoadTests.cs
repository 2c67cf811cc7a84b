using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Hardening;

/// <summary>
/// A bounded flood (count- and time-limited, in-process host, no network) of concurrent classify and chat requests
/// above the queue limit: only 200s and 429s, never a 5xx; latency percentiles are reported, not asserted.
/// </summary>
public sealed class LoadTests
{
    [Fact]
    public async Task Concurrent_flood_above_the_queue_limit_gets_only_200_and_429()
    {
        var ct = TestContext.Current.CancellationToken;
        using var factory = new InferenceFactory().WithWebHostBuilder(b =>
        {
            b.UseSetting("Queues:Concurrency", "1");
            b.UseSetting("Queues:MaxQueued", "3");
            b.UseSetting("Limits:RequestsPerMinute", "0");
        });
        using var client = factory.CreateClient();
        client.Timeout = TimeSpan.FromMinutes(2);
        var image = Convert.ToBase64String(File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", "image0.png")));
        var classify = JsonSerializer.Serialize(new { images = new[] { image }, labels = new[] { "red circle", "blue square", "green star" } });
        var chat = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "count from three to seven" } }, max_tokens = 24, temperature = 0 });

        const int perKind = 20;
        var results = new ConcurrentBag<(string Kind, HttpStatusCode Status, double Ms)>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromMinutes(2));
        var requests = Enumerable.Range(0, perKind * 2).Select(async i =>
        {
            var (kind, route, body) = i % 2 == 0 ? ("classify", "/v1/classify", classify) : ("chat", "/v1/chat/completions", chat);
            var sw = Stopwatch.StartNew();
            using var response = await client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"), deadline.Token);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) Assert.True(response.Headers.Contains("Retry-After"));
            results.Add((kind, response.StatusCode, sw.Elapsed.TotalMilliseconds));
        });
        await Task.WhenAll(requests);

        Assert.Equal(perKind * 2, results.Count);
        Assert.All(results, r => Assert.True(r.Status is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"{r.Kind}: {r.Status}"));
        foreach (var kind in new[] { "classify", "chat" })
        {
            var mine = results.Where(r => r.Kind == kind).ToList();
            Assert.Contains(mine, r => r.Status == HttpStatusCode.OK);
            var ok = mine.Where(r => r.Status == HttpStatusCode.OK).Select(r => r.Ms).Order().ToList();
            TestContext.Current.SendDiagnosticMessage(
                $"{kind}: {ok.Count} ok, {mine.Count - ok.Count} × 429; p50 {ok[ok.Count / 2]:F0} ms, p95 {ok[(int)Math.Min(ok.Count - 1, Math.Ceiling(ok.Count * 0.95) - 1)]:F0} ms");
        }
        Assert.Contains(results, r => r.Status == HttpStatusCode.TooManyRequests);

        // still healthy and serving afterwards
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz", ct)).StatusCode);
        var after = await client.PostAsync("/v1/classify", new StringContent(classify, Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }
}
