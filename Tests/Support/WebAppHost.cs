using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MultimodalHub.Data.Entities;
using MultimodalHub.Web.Accounts;
using MultimodalHub.Web.Hosting;

namespace MultimodalHub.Tests.Support;

/// <summary>
/// The real web app (WebHost.Build, as Program runs it) on Kestrel at a free loopback port, over a fresh SQLite file
/// in a temporary folder; the inference service it points at is a closed port unless given. Real HTTP, real cookies,
/// real antiforgery; deleted again on dispose.
/// </summary>
public sealed partial class WebAppHost : IAsyncDisposable
{
    private WebAppHost(string dir, WebApplication app, Uri url)
    {
        Dir = dir;
        App = app;
        Url = url;
    }

    public string Dir { get; }

    public WebApplication App { get; }

    public Uri Url { get; }

    public IServiceProvider Services => App.Services;

    public string DatabasePath => Path.Combine(Dir, "hub.db");

    public static async Task<WebAppHost> StartAsync(CancellationToken ct, params string[] settings)
    {
        var dir = Path.Combine(Path.GetTempPath(), "hub-web-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string[] args =
        [
            "--applicationName=MultimodalHub.Web", $"--contentRoot={Path.Combine(Repo.Root, "Web")}", "--urls=http://127.0.0.1:0",
            $"--Data:DatabasePath={Path.Combine(dir, "hub.db")}", $"--Data:BlobPath={Path.Combine(dir, "blobs")}",
            "--Inference:BaseUrl=http://127.0.0.1:9/", "--Inference:ReadTimeout=00:00:01", "--Auth:RevalidationInterval=00:00:01",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft=Warning", "--Logging:LogLevel:Polly=None", "--Logging:LogLevel:MultimodalHub.Web.Services=None",
            .. settings,
        ];
        var app = WebHost.Build(args, b => b.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Polly", LogLevel.None)
            .AddFilter("MultimodalHub.Web.Services.InferenceHealth", LogLevel.None));
        await app.PrepareAsync();
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new WebAppHost(dir, app, new Uri(address));
    }

    /// <summary>An account made as the admin page makes them.</summary>
    public async Task<string> CreateAccountAsync(string name, string password, string role)
    {
        await using var scope = Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<AccountAdmin>().CreateAsync(name, password, role);
        Assert.True(result.Succeeded, result.Error);
        return result.UserId!;
    }

    /// <summary>A client with its own cookie jar that does not follow redirects.</summary>
    public HttpClient NewClient(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false, UseCookies = true })
        {
            BaseAddress = Url,
        };

    /// <summary>A client signed in through the sign-in form (antiforgery token included).</summary>
    public async Task<HttpClient> SignedInClientAsync(string name, string password, CancellationToken ct)
    {
        var client = NewClient();
        var response = await PostFormAsync(client, "/account/login", "/account/login", new() { ["userName"] = name, ["password"] = password }, ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.DoesNotContain("error", response.Headers.Location?.ToString() ?? "", StringComparison.Ordinal);
        return client;
    }

    /// <summary>Reads the antiforgery token from the form page, then posts the form with it.</summary>
    public static async Task<HttpResponseMessage> PostFormAsync(HttpClient client, string page, string action, Dictionary<string, string> fields, CancellationToken ct)
    {
        var html = await client.GetStringAsync(page, ct);
        fields["__RequestVerificationToken"] = Token(html);
        return await client.PostAsync(action, new FormUrlEncodedContent(fields), ct);
    }

    public static string Token(string html) =>
        TokenPattern().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : throw new InvalidOperationException("No antiforgery token in the page.");

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
