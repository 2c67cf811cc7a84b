using System.Net;
using System.Net.Http.Json;
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

    /// <summary>An image job belongs to the account whose key submitted it: another user's key finds it nowhere (list,
    /// state, events, cancel all answer as for an unknown job); the owner and admins see it.</summary>
    [Fact]
    public async Task Image_jobs_are_visible_to_their_owner_and_admins_only()
    {
        using var http = world.Inference.CreateClient();
        async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, Who who, HttpContent? content = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            request.Headers.Authorization = new("Bearer", world.ApiKey(who));
            return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        }
        async Task<List<string?>> ListedAsync(Who who)
        {
            using var response = await SendAsync(HttpMethod.Get, "/v1/images/jobs", who);
            var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
            return root.GetProperty("data").EnumerateArray().Select(j => j.GetProperty("id").GetString()).ToList();
        }

        using var submitted = await SendAsync(HttpMethod.Post, "/v1/images/jobs", Who.UserA,
            JsonContent.Create(new { prompt = "a red circle", steps = 2, seed = 3 }));
        var text = await submitted.Content.ReadAsStringAsync(Ct);
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, text);
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;

        Assert.Contains(id, await ListedAsync(Who.UserA));
        Assert.Contains(id, await ListedAsync(Who.Admin));
        Assert.DoesNotContain(id, await ListedAsync(Who.UserB));
        foreach (var path in new[] { $"/v1/images/jobs/{id}", $"/v1/images/jobs/{id}/events" })
        {
            using var b = await SendAsync(HttpMethod.Get, path, Who.UserB);
            Assert.Equal(HttpStatusCode.NotFound, b.StatusCode);
        }
        using (var cancelByB = await SendAsync(HttpMethod.Delete, $"/v1/images/jobs/{id}", Who.UserB))
            Assert.Equal(HttpStatusCode.NotFound, cancelByB.StatusCode);
        using (var admin = await SendAsync(HttpMethod.Get, $"/v1/images/jobs/{id}", Who.Admin))
            Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        using var own = await SendAsync(HttpMethod.Get, $"/v1/images/jobs/{id}", Who.UserA);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.NotEqual("cancelled", JsonDocument.Parse(await own.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("status").GetString());
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
