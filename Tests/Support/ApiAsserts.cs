using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;

namespace MultimodalHub.Tests.Support;

/// <summary>Shared HTTP helpers for the API tests: JSON posts, SSE bodies, problem details and the official OpenAI client.</summary>
public static class ApiAsserts
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>POSTs <paramref name="body"/> as JSON, asserts a success status and returns the parsed JSON answer.</summary>
    public static async Task<JsonElement> PostJson(HttpClient client, string url, object body)
    {
        using var response = await client.PostAsJsonAsync(url, body, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts an SSE body of <c>data: </c> events ending in <c>[DONE]</c> and returns the events before it, parsed.</summary>
    public static async Task<List<JsonElement>> ReadSse(HttpResponseMessage response)
    {
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync(Ct);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).ToList();
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        return events.SkipLast(1).Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.Clone()).ToList();
    }

    /// <summary>Asserts an application/problem+json answer with <paramref name="status"/> naming <paramref name="field"/>.</summary>
    public static async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string field, string? detailContains = null)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(field, problem.GetProperty("field").GetString());
        if (detailContains is not null) Assert.Contains(detailContains, problem.GetProperty("detail").GetString());
    }

    /// <summary>The official OpenAI client pointed at the test host's /v1.</summary>
    public static OpenAIClient OpenAiClient(HttpClient http) => new(new ApiKeyCredential("unused"), new OpenAIClientOptions
    {
        Endpoint = new Uri(http.BaseAddress!, "/v1"),
        Transport = new HttpClientPipelineTransport(http),
    });
}
