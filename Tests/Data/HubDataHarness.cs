using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Data;

/// <summary>A real database (a SQLite file, or a fresh PostgreSQL database: <see cref="TestDatabase"/>) and blob folder in a temp directory, wired exactly as the app wires them (AddHubData).</summary>
public sealed class HubDataHarness : IAsyncDisposable
{
    private readonly bool _ownsDirectory;

    private HubDataHarness(string directory, ServiceProvider services, bool ownsDirectory, TestDatabase database)
    {
        Database = database;
        Directory = directory;
        Services = services;
        _ownsDirectory = ownsDirectory;
    }

    public string Directory { get; }
    public ServiceProvider Services { get; }
    public string DatabasePath => Path.Combine(Directory, "hub.db");
    public string BlobPath => Path.Combine(Directory, "blobs");

    public IBlobStore Blobs => Services.GetRequiredService<IBlobStore>();
    public IRunStore Runs => Services.GetRequiredService<IRunStore>();
    public IShareService Shares => Services.GetRequiredService<IShareService>();
    public IRatingService Ratings => Services.GetRequiredService<IRatingService>();
    public IEmbeddingStore Embeddings => Services.GetRequiredService<IEmbeddingStore>();
    public IChatStore Chats => Services.GetRequiredService<IChatStore>();

    public HubDbContext NewContext() => Services.GetRequiredService<IDbContextFactory<HubDbContext>>().CreateDbContext();

    /// <summary>On SQLite: builds the services and migrates. Pass an existing directory to "restart" on the same database.</summary>
    public static Task<HubDataHarness> StartAsync(TimeProvider? time = null, string? directory = null) =>
        StartAsync(TestDatabase.Sqlite, time, directory);

    /// <summary>Builds the services on <paramref name="database"/> and migrates. Pass an existing directory to
    /// "restart" on the same database (and blob folder).</summary>
    public static async Task<HubDataHarness> StartAsync(TestDatabase database, TimeProvider? time = null, string? directory = null)
    {
        var owns = directory is null;
        directory ??= Path.Combine(Path.GetTempPath(), "hub-data-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var settings = new Dictionary<string, string?>
        {
            ["Data:BlobPath"] = Path.Combine(directory, "blobs"),
            ["Data:BusyTimeoutSeconds"] = "30",
        };
        foreach (var (key, value) in await database.SettingsAsync(directory, TestContext.Current.CancellationToken))
            settings[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging();
        if (time is not null)
            services.AddSingleton(time);
        services.AddHubData(configuration);
        var provider = services.BuildServiceProvider();
        await provider.MigrateHubDataAsync(TestContext.Current.CancellationToken);
        return new HubDataHarness(directory, provider, owns, database);
    }

    public TestDatabase Database { get; }

    /// <summary>Stops the services but keeps the files and the database (for restart tests).</summary>
    public async ValueTask StopAsync()
    {
        await Services.DisposeAsync();
        if (Database.Provider == DataProvider.Sqlite)
            SqliteConnection.ClearAllPools();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (!_ownsDirectory)
            return;
        await Database.DropAsync(Directory);
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }

    public static byte[] Png(int width, int height, SKColor color) => Encode(width, height, color, SKEncodedImageFormat.Png);

    public static byte[] Jpeg(int width, int height, SKColor color) => Encode(width, height, color, SKEncodedImageFormat.Jpeg);

    private static byte[] Encode(int width, int height, SKColor color, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(color);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        return data.ToArray();
    }
}

/// <summary>A clock the test moves by hand (share-link expiry, run timestamps).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now += by;
}
