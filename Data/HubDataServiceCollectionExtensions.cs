using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Postgres;
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
        services.AddHostedService<RunRecoveryService>();
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

        builder.PostConfigure(o =>
        {
            if (string.IsNullOrWhiteSpace(o.ConnectionString))
                o.ConnectionString = configuration.GetConnectionString(DataOptions.ConnectionStringName);
        });
        services.TryAddSingleton<IDbContextFactory<HubDbContext>>(sp => new HubDbContextFactory(
            sp.GetRequiredService<IOptions<DataOptions>>().Value, sp.GetRequiredService<ILoggerFactory>(), create));
        // ASP.NET Core Identity's EF stores take the context itself (one per request or circuit scope).
        services.TryAddScoped(sp => sp.GetRequiredService<IDbContextFactory<HubDbContext>>().CreateDbContext());
        services.TryAddSingleton<IApiKeyStore, ApiKeyStore>();
        services.TryAddSingleton<HubInstance>();
    }

    /// <summary>Creates the data folders, checks the database (SQLite: PRAGMA quick_check, throws when it fails; WAL),
    /// applies the provider's migrations and recovers runs left in flight by a process that is gone.</summary>
    public static async Task MigrateHubDataAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        var options = services.GetRequiredService<IOptions<DataOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("MultimodalHub.Data");
        Directory.CreateDirectory(options.ResolvedBlobPath);

        var factory = services.GetRequiredService<IDbContextFactory<HubDbContext>>();
        await using (var db = await factory.CreateDbContextAsync(ct))
        {
            if (options.Provider == DataProvider.Sqlite)
                await PrepareSqliteAsync(db, options, logger, ct);
            var pending = (await db.Database.GetPendingMigrationsAsync(ct)).ToList();
            await db.Database.MigrateAsync(ct);
            logger.LogInformation("Database {Database} ready ({Provider}, {Count} migrations applied)", options.DatabaseName, options.Provider, pending.Count);
        }

        if (options.RecoverStaleRunsAtStart)
            await services.GetRequiredService<IStartupRecovery>().RecoverAsync(ct);
    }

    private static async Task PrepareSqliteAsync(HubDbContext db, DataOptions options, ILogger logger, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(options.ResolvedDatabasePath)!);
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

    internal static void ConfigurePostgres(DbContextOptionsBuilder o, string connectionString, int commandTimeoutSeconds) =>
        o.UseNpgsql(connectionString, n => n.CommandTimeout(commandTimeoutSeconds));
}

/// <summary>Makes the provider's context over one set of options built at first use: <see cref="HubDbContext"/> on SQLite,
/// <see cref="PostgresHubDbContext"/> on PostgreSQL (each finds its own migrations).</summary>
internal sealed class HubDbContextFactory(DataOptions options, ILoggerFactory loggers, bool create) : IDbContextFactory<HubDbContext>
{
    private readonly Lazy<DbContextOptions> _options = new(() => Build(options, loggers, create));

    public HubDbContext CreateDbContext() => options.Provider == DataProvider.Postgres
        ? new PostgresHubDbContext((DbContextOptions<PostgresHubDbContext>)_options.Value)
        : new HubDbContext((DbContextOptions<HubDbContext>)_options.Value);

    private static DbContextOptions Build(DataOptions options, ILoggerFactory loggers, bool create)
    {
        switch (options.Provider)
        {
            case DataProvider.Sqlite:
                var sqlite = new DbContextOptionsBuilder<HubDbContext>().UseLoggerFactory(loggers);
                HubDataServiceCollectionExtensions.ConfigureSqlite(sqlite, HubDataServiceCollectionExtensions.ConnectionString(options, create), options.BusyTimeoutSeconds);
                return sqlite.Options;
            case DataProvider.Postgres:
                if (string.IsNullOrWhiteSpace(options.ConnectionString))
                    throw new InvalidOperationException($"Data:Provider is Postgres but no connection string is set: give ConnectionStrings:{DataOptions.ConnectionStringName} (or Data:ConnectionString), e.g. \"Host=db;Database=hub;Username=hub;Password=...\".");
                var postgres = new DbContextOptionsBuilder<PostgresHubDbContext>().UseLoggerFactory(loggers);
                HubDataServiceCollectionExtensions.ConfigurePostgres(postgres, options.ConnectionString, options.BusyTimeoutSeconds);
                return postgres.Options;
            default:
                throw new InvalidOperationException($"Data:Provider {options.Provider} is not known: use Sqlite or Postgres.");
        }
    }
}

/// <summary>Used by `dotnet ef migrations add` only (SQLite: --context HubDbContext).</summary>
internal sealed class DesignTimeHubDbContextFactory : IDesignTimeDbContextFactory<HubDbContext>
{
    public HubDbContext CreateDbContext(string[] args)
    {
        var o = new DbContextOptionsBuilder<HubDbContext>();
        HubDataServiceCollectionExtensions.ConfigureSqlite(o, "Data Source=design-time.db", 30);
        return new HubDbContext(o.Options);
    }
}

/// <summary>Used by `dotnet ef migrations add` only (PostgreSQL: --context PostgresHubDbContext; no server is contacted).</summary>
internal sealed class DesignTimePostgresHubDbContextFactory : IDesignTimeDbContextFactory<PostgresHubDbContext>
{
    public PostgresHubDbContext CreateDbContext(string[] args)
    {
        var o = new DbContextOptionsBuilder<PostgresHubDbContext>();
        HubDataServiceCollectionExtensions.ConfigurePostgres(o, "Host=localhost;Database=hub_design_time", 30);
        return new PostgresHubDbContext(o.Options);
    }
}
