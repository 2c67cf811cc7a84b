using System.Net;
using Microsoft.AspNetCore.Hosting;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Core;

public sealed class ServiceLimitsTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rate_limit_answers_429_problem_with_retry_after_and_health_stays_open()
    {
        using var factory = new InferenceFactory().WithWebHostBuilder(b => b.UseSetting("Limits:RequestsPerMinute", "3"));
        using var client = factory.CreateClient();
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++) codes.Add((await client.GetAsync("/v1/models", Ct)).StatusCode);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], codes);
        var limited = await client.GetAsync("/v1/models", Ct);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.True(limited.Headers.Contains("Retry-After"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz", Ct)).StatusCode);
    }

    [Fact]
    public async Task Responses_carry_nosniff_and_frame_ancestors()
    {
        using var client = fixture.Factory.CreateClient();
        var response = await client.GetAsync("/v1/models", Ct);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
    }
}
