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
        Assert.Contains(lines, l => l.StartsWith("http_requests_received_total{") && l.Contains("endpoint=\"/v1/models\""));
        Assert.Contains(lines, l => l.StartsWith("# TYPE hub_model_load_seconds histogram"));
        Assert.Contains(lines, l => l.StartsWith("# TYPE hub_queue_depth gauge"));
    }

    [Fact]
    public async Task OpenApi_document_lists_the_models_route()
    {
        using var client = fixture.Factory.CreateClient();
        var doc = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json", Ct)).RootElement;
        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString());
        Assert.True(doc.GetProperty("paths").TryGetProperty("/v1/models", out _));
    }
}
