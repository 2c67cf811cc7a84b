using System.Net;
using System.Text.Json;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Core;

public sealed class ModelsEndpointTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    [Fact]
    public async Task Lists_the_four_demo_models_with_their_kinds()
    {
        using var client = fixture.Factory.CreateClient();
        var json = JsonDocument.Parse(await client.GetStringAsync("/v1/models", TestContext.Current.CancellationToken));
        var kinds = json.RootElement.GetProperty("data").EnumerateArray()
            .ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("kind").GetString());
        Assert.Equal(new Dictionary<string, string?>
        {
            ["clip-shapes"] = "clip",
            ["sd-shapes"] = "diffusion",
            ["shapes-chat"] = "chat",
            ["shapes-vlm"] = "vlm",
        }, kinds);
    }

    [Fact]
    public async Task Unknown_route_is_problem_details()
    {
        using var client = fixture.Factory.CreateClient();
        var response = await client.GetAsync("/v1/nothing-here", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}

/// <summary>One inference host on the bundled models, shared by a test class.</summary>
public sealed class InferenceFixture : IDisposable
{
    public InferenceFactory Factory { get; } = new();

    public void Dispose() => Factory.Dispose();
}
