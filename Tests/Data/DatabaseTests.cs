using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data;

namespace MultimodalHub.Tests.Data;

public sealed class DatabaseTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Fresh_file_migrates_to_the_current_model()
    {
        await using var hub = await HubDataHarness.StartAsync();
        Assert.True(File.Exists(hub.DatabasePath));
        await using var db = hub.NewContext();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync(Ct));
        Assert.Contains(await db.Database.GetAppliedMigrationsAsync(Ct), m => m.EndsWith("_InitialCreate", StringComparison.Ordinal));
        Assert.False(db.Database.HasPendingModelChanges(), "the model changed without a migration: run dotnet ef migrations add");
        Assert.Equal("local", (await db.Owners.SingleAsync(Ct)).Id);

        var tables = await db.Database.SqlQuery<string>($"SELECT name AS Value FROM sqlite_master WHERE type = 'table'").ToListAsync(Ct);
        Assert.Superset(new HashSet<string> { "Images", "Runs", "RunImages", "ChatSessions", "ChatMessages", "ShareLinks", "ShareLinkItems", "AbVotes", "Embeddings", "Owners", "RunSearch" }, tables.ToHashSet());
        Assert.Equal("ok", await Scalar(db, "PRAGMA integrity_check"));
    }

    [Fact]
    public async Task Journal_is_wal_foreign_keys_on_and_busy_timeout_set()
    {
        await using var hub = await HubDataHarness.StartAsync();

        // WAL is a property of the file: a plain new connection sees it.
        await using (var raw = new SqliteConnection($"Data Source={hub.DatabasePath};Pooling=False"))
        {
            await raw.OpenAsync(Ct);
            await using var cmd = raw.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode";
            Assert.Equal("wal", (string?)await cmd.ExecuteScalarAsync(Ct));
        }

        await using var db = hub.NewContext();
        await db.Database.OpenConnectionAsync(Ct);
        Assert.Equal(1L, await Scalar(db, "PRAGMA foreign_keys"));
        Assert.Equal(30_000L, await Scalar(db, "PRAGMA busy_timeout"));

        // Foreign keys are enforced: a run image pointing at no stored image is refused.
        var run = await hub.Runs.CreateAsync(new(MultimodalHub.Data.Entities.RunKind.Caption, "m") { OwnerId = MultimodalHub.Data.Entities.Owner.LocalId }, Ct);
        var ex = await Assert.ThrowsAsync<DbUpdateException>(async () =>
        {
            db.RunImages.Add(new() { RunId = run.Id, Role = MultimodalHub.Data.Entities.RunImageRole.Input, Position = 0, ImageSha256 = new string('a', 64) });
            await db.SaveChangesAsync(Ct);
        });
        Assert.Contains("FOREIGN KEY", ex.InnerException?.Message);
    }

    [Fact]
    public async Task Start_fails_when_the_database_fails_its_integrity_check_and_readiness_does_not_rerun_it()
    {
        await using var hub = await HubDataHarness.StartAsync();
        var readiness = new HubDataHealthCheck(hub.Services.GetRequiredService<IDbContextFactory<HubDbContext>>(),
            hub.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DataOptions>>());
        // A row that breaks its CHECK constraint (written with the checks switched off): quick_check reports it.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={hub.DatabasePath}"))
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "CREATE TABLE damaged (x INTEGER CHECK (x > 0)); PRAGMA ignore_check_constraints = ON; INSERT INTO damaged VALUES (-1);";
            cmd.ExecuteNonQuery();
        }
        // Readiness stays cheap (SELECT 1 + blob probe): it does not read the whole database.
        var ready = await readiness.CheckHealthAsync(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext(), Ct);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, ready.Status);
        // The next start runs quick_check once and refuses to serve.
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => hub.Services.MigrateHubDataAsync(Ct));
        Assert.Contains("quick_check", e.Message);
    }

    [Fact]
    public async Task Migrating_twice_is_harmless()
    {
        await using var hub = await HubDataHarness.StartAsync();
        await hub.StopAsync();
        await using var again = await HubDataHarness.StartAsync(directory: hub.Directory);
        await using var db = again.NewContext();
        // Each migration applied once, none pending (more migrations come as the schema grows).
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync(Ct));
        Assert.Empty(await db.Database.GetPendingMigrationsAsync(Ct));
    }

    internal static async Task<object?> Scalar(Microsoft.EntityFrameworkCore.DbContext db, string sql)
    {
        await db.Database.OpenConnectionAsync(Ct);
        await using var cmd = db.Database.GetDbConnection().CreateCommand();
        cmd.CommandText = sql;
        return await cmd.ExecuteScalarAsync(Ct);
    }
}
