using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace MultimodalHub.Tests.Accounts;

/// <summary>
/// The access-control matrix, as data: every page, media route and API route × {anonymous, viewer, user A, user B,
/// admin, revoked key, expired key, wrong key} → the status each must get (no redirect followed: 302 is the way to the
/// sign-in page or, for a signed-in account without the role, to /account/denied). On the web app the key
/// principals send only their Bearer header (no cookie): keys do not sign in to the web app. On the API, accounts
/// present their own key (the viewer's key is refused: viewers may not use the API).
/// </summary>
public sealed class AccessMatrixTests(AccessWorld world) : IClassFixture<AccessWorld>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    //                                      anon viewer A    B    admin revoked expired wrong
    private const string Page = /*       */ "302  200   200  200  200   302     302     302";
    private const string Generator = /*  */ "302  302   200  200  200   302     302     302";
    private const string AdminOnly = /*  */ "302  302   302  302  200   302     302     302";
    private const string Public = /*     */ "200  200   200  200  200   200     200     200";
    private const string OfA = /*        */ "401  404   200  404  200   401     401     401";
    private const string OfB = /*        */ "401  404   404  200  200   401     401     401";
    private const string SignedIn = /*   */ "401  200   200  200  200   401     401     401";
    private const string Api = /*        */ "401  401   200  200  200   401     401     401";
    private const string AdminApi = /*   */ "401  401   403  403  200   401     401     401";

    /// <summary>Web routes: path (with {A.image}, {B.image}, {A.chat}, {A.token} filled in) → expected statuses.</summary>
    private static readonly (string Route, string Expected)[] Routes =
    [
        ("/", Page),
        ("/gallery", Page),
        ("/history", Page),
        ("/shared", Page),
        ("/account/password", Page),
        ("/classify", Generator),
        ("/describe", Generator),
        ("/imagine", Generator),
        ("/chat", Generator),
        ("/chat/{A.chat}", Generator),
        ("/ratings", Generator),
        ("/evaluate", Generator),
        ("/keys", Generator),
        ("/admin", AdminOnly),
        ("/models", AdminOnly),
        ("/account/login", Public),
        ("/account/denied", Public),
        ("/setup", "302  302   302  302  302   302     302     302"),
        ("/account/register", "302  302   302  302  302   302     302     302"), // registration is off by default
        ("/not-found", Public),
        ("/error", Public),
        ("/healthz", Public),
        ("/s/{A.token}", Public),
        ("/s/{A.token}/media/{A.image}", Public),
        ("/s/{A.token}/media/{B.image}", "404  404   404  404  404   404     404     404"),
        ("/media/{A.image}", OfA),
        ("/media/{A.image}/thumb?size=128", OfA),
        ("/media/{A.image}/download", OfA),
        ("/media/{B.image}", OfB),
        ("/media/{B.image}/thumb", OfB),
        ("/ratings/preferences.jsonl", SignedIn),
    ];

    public static TheoryData<string, string> WebRoutes
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var (route, expected) in Routes) data.Add(route, expected);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(WebRoutes))]
    public async Task Web_route_answers_each_principal_as_the_matrix_says(string route, string expected)
    {
        var path = Fill(route);
        var want = Parse(expected);
        var got = new List<int>();
        foreach (var who in Enum.GetValues<Who>())
        {
            using var response = await world.WebClient(who).GetAsync(path, Ct);
            got.Add((int)response.StatusCode);
        }
        Assert.True(want.SequenceEqual(got), $"{path}: expected {string.Join(' ', want)}, got {string.Join(' ', got)} ({string.Join(", ", Enum.GetNames<Who>())})");
    }

    [Fact]
    public async Task Every_routable_page_of_the_web_app_is_in_the_matrix()
    {
        var templates = typeof(MultimodalHub.Web.Hosting.WebHost).Assembly.GetTypes()
            .SelectMany(t => t.GetCustomAttributes<RouteAttribute>()).Select(r => r.Template).ToHashSet();
        var covered = Routes.Select(r => r.Route.Split('?')[0]).ToHashSet();
        var map = new Dictionary<string, string> { ["/chat/{SessionId:long}"] = "/chat/{A.chat}", ["/s/{Token}"] = "/s/{A.token}" };
        var missing = templates.Where(t => !covered.Contains(map.GetValueOrDefault(t, t))).ToList();
        Assert.True(missing.Count == 0, "pages missing from the matrix: " + string.Join(", ", missing));
        await Task.CompletedTask;
    }

    /// <summary>Every /v1 route of the inference service (found from its endpoints, so a new route is covered at
    /// once) refuses a missing, wrong, revoked or expired key with OpenAI's 401 shape, and lets a valid key through.</summary>
    [Fact]
    public async Task Every_api_route_needs_a_valid_key()
    {
        var routes = world.Inference.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.TrimStart('/').StartsWith("v1/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Path: Concrete(e.RoutePattern.RawText!))))
            .Distinct().ToList();
        Assert.True(routes.Count >= 10, $"only {routes.Count} /v1 routes found");
        using var http = world.Inference.CreateClient();
        foreach (var (method, path) in routes)
        {
            foreach (var who in new[] { Who.Anonymous, Who.Viewer, Who.RevokedKey, Who.ExpiredKey, Who.WrongKey })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (world.ApiKey(who) is { } key) request.Headers.Authorization = new("Bearer", key);
                using var response = await http.SendAsync(request, Ct);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} as {who}: {(int)response.StatusCode}");
                var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("error");
                Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
                Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
                Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
            }
            using var valid = new HttpRequestMessage(new HttpMethod(method), path);
            valid.Headers.Authorization = new("Bearer", world.Keys["A"]);
            using var passed = await http.SendAsync(valid, Ct);
            Assert.True(passed.StatusCode != HttpStatusCode.Unauthorized, $"{method} {path} with a valid key: 401");
        }
    }

    [Theory]
    [InlineData("/v1/models", Api)]
    [InlineData("/v1/schedulers", Api)]
    [InlineData("/v1/models/pulls", AdminApi)]
    [InlineData("/healthz", Public)]
    [InlineData("/readyz", Public)]
    public async Task Api_route_answers_each_principal_as_the_matrix_says(string path, string expected)
    {
        using var http = world.Inference.CreateClient();
        var got = new List<int>();
        foreach (var who in Enum.GetValues<Who>())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (world.ApiKey(who) is { } key) request.Headers.Authorization = new("Bearer", key);
            using var response = await http.SendAsync(request, Ct);
            got.Add((int)response.StatusCode);
        }
        Assert.Equal(Parse(expected), got);
    }

    private string Fill(string route) => route
        .Replace("{A.image}", world.AImage, StringComparison.Ordinal).Replace("{B.image}", world.BImage, StringComparison.Ordinal)
        .Replace("{A.chat}", world.AChat.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{A.token}", world.AToken, StringComparison.Ordinal);

    private static List<int> Parse(string row) => row.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();

    /// <summary>A route pattern with its parameters filled with plausible values ("/v1/images/jobs/{id}" → ".../x1").</summary>
    private static string Concrete(string pattern) =>
        System.Text.RegularExpressions.Regex.Replace("/" + pattern.TrimStart('/'), @"\{[^}]+\}", "x1");
}
