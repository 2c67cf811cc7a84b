using System.Text.Json;
using System.Text.RegularExpressions;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Core;

public sealed class MetricsAndOpenApiTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Prometheus text exposition format 0.0.4: comments, or `name{labels} value [timestamp]`.
    private static readonly Regex Sample = new(
        @"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*=""([^""\\]|\\.)*"",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?$");

    [Fact]
    public async Task Metrics_are_prometheus_text_with_request_counts_by_route()
    {
        using var client = fixture.Factory.CreateClient();
        await client.GetStringAsync("/v1/models", Ct);
        var response = await client.GetAsync("/metrics", Ct);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync(Ct);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var bad = lines.Where(l => !l.StartsWith('#') && !Sample.IsMatch(l)).ToList();
        Assert.Empty(bad);
        Assert.Contains(lines, l => l.StartsWith("http_requests_received_total{", StringComparison.Ordinal) && l.Contains("endpoint=\"/v1/models\""));
        Assert.Contains(lines, l => l.StartsWith("# TYPE hub_model_load_seconds histogram", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("# TYPE hub_queue_depth gauge", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Engine_work_shows_up_as_tokens_images_and_run_times_by_model()
    {
        using var client = fixture.Factory.CreateClient();
        var chat = await client.PostAsync("/v1/chat/completions", Json(new { messages = new[] { new { role = "user", content = "count from three to seven" } }, temperature = 0 }), Ct);
        Assert.True(chat.IsSuccessStatusCode, await chat.Content.ReadAsStringAsync(Ct));
        var image = await client.PostAsync("/v1/images/generations", Json(new { prompt = "a red circle", steps = 4, seed = 1 }), Ct);
        Assert.True(image.IsSuccessStatusCode, await image.Content.ReadAsStringAsync(Ct));
        var png = Convert.ToBase64String(File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", "image0.png")));
        var classify = await client.PostAsync("/v1/classify", Json(new { images = new[] { png }, labels = new[] { "red circle", "blue star" } }), Ct);
        Assert.True(classify.IsSuccessStatusCode, await classify.Content.ReadAsStringAsync(Ct));

        var lines = (await client.GetStringAsync("/metrics", Ct)).Split('\n');
        double Value(string prefix) => lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal))
            .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Sum();
        Assert.True(Value("hub_generated_tokens_total{model=\"shapes-chat\"}") >= 1);
        Assert.True(Value("hub_generated_images_total{model=\"sd-shapes\"}") >= 1);
        Assert.True(Value("hub_inference_seconds_count{model=\"clip-shapes\",operation=\"classify\"}") >= 1);
        Assert.True(Value("hub_inference_seconds_count{model=\"shapes-chat\",operation=\"chat\"}") >= 1);
        Assert.True(Value("hub_queue_wait_seconds_count{model=\"sd-shapes\"}") >= 1);
        Assert.True(Value("hub_model_loads_total{model=\"shapes-chat\"") >= 1);
    }

    private static StringContent Json(object body) =>
        new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    [Fact]
    public async Task OpenApi_document_lists_the_models_route()
    {
        using var client = fixture.Factory.CreateClient();
        var doc = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json", Ct)).RootElement;
        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString());
        Assert.True(doc.GetProperty("paths").TryGetProperty("/v1/models", out _));
    }
}
