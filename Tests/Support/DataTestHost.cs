using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using MultimodalHub.Data;

namespace MultimodalHub.Tests.Support;

/// <summary>
/// An in-process web host over a real, freshly migrated database (SQLite file or PostgreSQL: <see cref="TestDatabase"/>) and blob folder in a temporary directory, with
/// the endpoints a test maps; deleted again on dispose.
/// </summary>
public sealed class DataTestHost : IAsyncDisposable
{
    private readonly TestDatabase _database;

    private DataTestHost(string dir, WebApplication app, TestDatabase database)
    {
        _database = database;
        Dir = dir;
        App = app;
        Client = app.GetTestClient();
    }

    public string Dir { get; }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => App.Services;

    public static Task<DataTestHost> StartAsync(Action<WebApplicationBuilder>? configure, Action<WebApplication> map, CancellationToken ct) =>
        StartAsync(TestDatabase.Sqlite, configure, map, ct);

    public static async Task<DataTestHost> StartAsync(TestDatabase database, Action<WebApplicationBuilder>? configure, Action<WebApplication> map, CancellationToken ct)
    {
        var dir = Path.Combine(Path.GetTempPath(), "hub-host-tests", Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration["Data:BlobPath"] = Path.Combine(dir, "blobs");
        foreach (var (key, value) in await database.SettingsAsync(dir, ct))
            builder.Configuration[key] = value;
        builder.Services.AddHubData(builder.Configuration);
        configure?.Invoke(builder);
        var app = builder.Build();
        await app.Services.MigrateHubDataAsync(ct);
        // Requests come from the local owner, signed in as a "user" (the endpoints scope what they serve to it).
        app.Use((http, next) =>
        {
            http.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
                [new(System.Security.Claims.ClaimTypes.NameIdentifier, MultimodalHub.Data.Entities.Owner.LocalId),
                 new(System.Security.Claims.ClaimTypes.Role, MultimodalHub.Data.Entities.HubRoles.User)], "Test"));
            return next();
        });
        map(app);
        await app.StartAsync(ct);
        return new DataTestHost(dir, app, database);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        await _database.DropAsync(Dir);
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
