using System.Net;
using System.Net.Sockets;
using Bunit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MudBlazor.Services;
using MultimodalHub.Data;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Accounts;
using MultimodalHub.Web.Client;
using MultimodalHub.Web.Hosting;
using MultimodalHub.Web.Services;
using MultimodalHub.Web.Services.Evaluation;

namespace MultimodalHub.Tests.Web;

/// <summary>A bunit context with the web app's real services: MudBlazor, the typed inference client over the given
/// HttpClient (a real inference host, or a closed port), and the real Data layer on a temporary SQLite file.</summary>
public sealed class WebTestContext : BunitContext
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hub-bunit-" + Guid.NewGuid().ToString("N")[..10]);

    public WebTestContext(HttpClient inference)
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
        Services.AddLogging();
        Services.AddSingleton(TimeProvider.System);
        Services.AddSingleton(inference);
        Services.AddSingleton<InferenceClient>(sp => new InferenceClient(inference, Options.Create(new InferenceClientOptions { ReadTimeout = TimeSpan.FromSeconds(10) })));
        Services.AddSingleton<InferenceHealth>();
        Services.AddSingleton<RunRecorder>();
        Services.AddSingleton<TextSearch>();
        Services.AddEvaluation();
        Services.Configure<WebOptions>(_ => { });
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Data:DatabasePath"] = Path.Combine(_dataDir, "hub.db"),
            ["Data:BlobPath"] = Path.Combine(_dataDir, "blobs"),
        }).Build();
        Services.AddHubData(config);
        // Signed in as the local owner (a "user"): the pages scope every query to it.
        var auth = AddAuthorization();
        auth.SetAuthorized("local");
        auth.SetRoles(HubRoles.User);
        auth.SetClaims(new System.Security.Claims.Claim(System.Security.Claims.ClaimTypes.NameIdentifier, Owner.LocalId)); // last: bunit keeps the latest call's data
        Services.AddScoped<CurrentUser>();
        SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo("Server", isInteractive: true));
    }

    /// <summary>The blob folder of this context's data store.</summary>
    public string BlobPath => Path.Combine(_dataDir, "blobs");

    public async Task MigrateAsync() => await Services.MigrateHubDataAsync();

    /// <summary>A context over <paramref name="inference"/> with its data store migrated and, unless told otherwise,
    /// a MudPopoverProvider rendered (selects and menus need one).</summary>
    public static async Task<WebTestContext> StartAsync(HttpClient inference, bool popovers = true)
    {
        var ctx = new WebTestContext(inference);
        try
        {
            await ctx.MigrateAsync();
            if (popovers) ctx.Render<MudBlazor.MudPopoverProvider>();
            return ctx;
        }
        catch
        {
            await ctx.DisposeAsync();
            throw;
        }
    }

    /// <summary>Puts a bundled model's golden image (by default clip-shapes' image0.png) into this context's blob store.</summary>
    public async Task<StoredImage> PutGoldenAsync(string model = "clip-shapes", string file = "image0.png")
    {
        var ct = Xunit.TestContext.Current.CancellationToken;
        return await Services.GetRequiredService<IBlobStore>().PutAsync(await File.ReadAllBytesAsync(Repo.Model(model, "goldens", file), ct), MultimodalHub.Data.Entities.Owner.LocalId, ct);
    }

    /// <summary>An HttpClient aimed at a loopback port nothing listens on.</summary>
    public static HttpClient ClosedPortClient()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        await base.DisposeAsyncCore();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
