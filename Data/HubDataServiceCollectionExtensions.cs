using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Services;
using MultimodalHub.Data.Storage;

namespace MultimodalHub.Data;

public static class HubDataServiceCollectionExtensions
{
    /// <summary>Registers the SQLite store (IDbContextFactory&lt;HubDbContext&gt;) and the data services as singletons
    /// (safe to inject into Blazor components: each call uses its own short-lived DbContext).
    /// Configuration section "Data" binds <see cref="DataOptions"/>.</summary>
    public static IServiceCollection AddHubData(this IServiceCollection services, IConfiguration configuration, Action<DataOptions>? configure = null)
    {
        AddHubDatabase(services, configuration, configure, create: true);

        services.TryAddSingleton<IBlobStore, BlobStore>();
        services.TryAddSingleton<IRunStore, RunStore>();
        services.TryAddSingleton<IShareService, ShareService>();
        services.TryAddSingleton<IRatingService, RatingService>();
        services.TryAddSingleton<IEvalStore, EvalStore>();
        services.TryAddSingleton<Search.ImageVectorIndex>();
        services.TryAddSingleton<IEmbeddingStore, EmbeddingStore>();
        services.TryAddSingleton<ITextEmbeddingStore, TextEmbeddingStore>();
        services.TryAddSingleton<IChatStore, ChatStore>();
        services.TryAddSingleton<IStartupRecovery, StartupRecovery>();
        services.TryAddSingleton<IAccountStore, AccountStore>();
        services.AddHostedService<WalCheckpointOnShutdown>();
        services.AddHostedService<UnattachedImageSweeper>();
        return services;
    }

    /// <summary>For the inference service: only <see cref="IApiKeyStore"/> over the web app's database (section
    /// "Data", DatabasePath). The file is opened, never created or migrated here: the web app owns it.</summary>
    public static IServiceCollection AddHubApiKeys(this IServiceCollection services, IConfiguration configuration)
    {
        AddHubDatabase(services, configuration, null, create: false);
        return services;
    }

    private static void AddHubDatabase(IServiceCollection services, IConfiguration configuration, Action<DataOptions>? configure, bool create)
    {
        var builder = services.AddOptions<DataOptions>().Bind(configuration.GetSection(DataOptions.Section));
        if (configure is not null)
            builder.Configure(configure);
        services.TryAddSingleton(TimeProvider.System);

        services.AddDbContextFactory<HubDbContext>((sp, o) =>
        {
            var options = sp.GetRequiredService<IOptions<DataOptions>>().Value;
            ConfigureSqlite(o, ConnectionString(options, create), options.BusyTimeoutSeconds);
        }, ServiceLifetime.Singleton);
        // ASP.NET Core Identity's EF stores take the context itself (one per request or circuit scope).
        services.TryAddScoped(sp => sp.GetRequiredService<IDbContextFactory<HubDbContext>>().CreateDbContext());
        services.TryAddSingleton<IApiKeyStore, ApiKeyStore>();
    }

    /// <summary>Creates the data folders, checks the database's integrity (PRAGMA quick_check; throws when it fails), applies
    /// migrations, ensures WAL and recovers runs left in flight by a previous process.</summary>
    public static async Task MigrateHubDataAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        var options = services.GetRequiredService<IOptions<DataOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("MultimodalHub.Data");
        Directory.CreateDirectory(Path.GetDirectoryName(options.ResolvedDatabasePath)!);
        Directory.CreateDirectory(options.ResolvedBlobPath);

        var factory = services.GetRequiredService<IDbContextFactory<HubDbContext>>();
        await using (var db = await factory.CreateDbContextAsync(ct))
        {
            await db.Database.OpenConnectionAsync(ct);
            await using (var cmd = db.Database.GetDbConnection().CreateCommand())
            {
                cmd.CommandText = "PRAGMA journal_mode = WAL;";
                var mode = (string?)await cmd.ExecuteScalarAsync(ct);
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                    logger.LogWarning("SQLite journal mode is {Mode}, not WAL", mode);
            }
            await using (var cmd = db.Database.GetDbConnection().CreateCommand())
            {
                // Once per start rather than on every readiness probe: quick_check reads the whole database.
                cmd.CommandText = "PRAGMA quick_check;";
                var check = Convert.ToString(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
                if (check != "ok")
                {
                    logger.LogCritical("SQLite quick_check of {Path} failed: {Result}", options.ResolvedDatabasePath, check);
                    throw new InvalidOperationException($"The database {options.ResolvedDatabasePath} failed its integrity check (PRAGMA quick_check: {check}). Restore it from a backup.");
                }
            }
            var pending = (await db.Database.GetPendingMigrationsAsync(ct)).ToList();
            await db.Database.MigrateAsync(ct);
            logger.LogInformation("Database {Path} ready ({Count} migrations applied)", options.ResolvedDatabasePath, pending.Count);
        }

        if (options.RecoverStaleRunsAtStart)
            await services.GetRequiredService<IStartupRecovery>().RecoverAsync(ct);
    }

    internal static string ConnectionString(DataOptions options, bool create = true) => new SqliteConnectionStringBuilder
    {
        DataSource = options.ResolvedDatabasePath,
        Mode = create ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite,
        ForeignKeys = true,
        DefaultTimeout = options.BusyTimeoutSeconds,
        Pooling = true,
    }.ToString();

    internal static void ConfigureSqlite(DbContextOptionsBuilder o, string connectionString, int busyTimeoutSeconds) =>
        o.UseSqlite(connectionString, s => s.CommandTimeout(busyTimeoutSeconds))
         .AddInterceptors(new SqlitePragmaInterceptor(busyTimeoutSeconds * 1000));
}

/// <summary>Used by `dotnet ef migrations add` only.</summary>
internal sealed class DesignTimeHubDbContextFactory : IDesignTimeDbContextFactory<HubDbContext>
{
    public HubDbContext CreateDbContext(string[] args)
    {
        var o = new DbContextOptionsBuilder<HubDbContext>();
        HubDataServiceCollectionExtensions.ConfigureSqlite(o, "Data Source=design-time.db", 30);
        return new HubDbContext(o.Options);
    }
}
