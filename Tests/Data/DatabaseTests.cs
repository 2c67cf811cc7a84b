using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Data;

public abstract class DatabaseTests(TestDatabase database)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Fresh_database_migrates_to_the_current_model()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        await using var db = hub.NewContext();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync(Ct));
        Assert.Contains(await db.Database.GetAppliedMigrationsAsync(Ct), m => m.EndsWith("_InitialCreate", StringComparison.Ordinal));
        Assert.False(db.Database.HasPendingModelChanges(), $"the model changed without a migration for {database}: run dotnet ef migrations add (Data/README.md)");
        Assert.Equal("local", (await db.Owners.SingleAsync(Ct)).Id);
        // Identity's tables and seeded roles came with the migrations.
        Assert.Equal(["admin", "user", "viewer"], (await db.Roles.Select(r => r.Name!).ToListAsync(Ct)).Order());
        Assert.Equal(0, await db.Users.CountAsync(Ct));
    }

    [Fact]
    public async Task Foreign_keys_are_enforced()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        await using var db = hub.NewContext();
        // A run image pointing at no stored image is refused.
        var run = await hub.Runs.CreateAsync(new(MultimodalHub.Data.Entities.RunKind.Caption, "m") { OwnerId = MultimodalHub.Data.Entities.Owner.LocalId }, Ct);
        var ex = await Assert.ThrowsAsync<DbUpdateException>(async () =>
        {
            db.RunImages.Add(new() { RunId = run.Id, Role = MultimodalHub.Data.Entities.RunImageRole.Input, Position = 0, ImageSha256 = new string('a', 64) });
            await db.SaveChangesAsync(Ct);
        });
        Assert.Contains("foreign key", ex.InnerException?.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Migrating_twice_is_harmless()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        await hub.StopAsync();
        await using var again = await HubDataHarness.StartAsync(database, directory: hub.Directory);
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

public sealed class DatabaseTestsOnSqlite() : DatabaseTests(TestDatabase.Sqlite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Fresh_file_has_the_fts_table_and_passes_its_integrity_check()
    {
        await using var hub = await HubDataHarness.StartAsync();
        Assert.True(File.Exists(hub.DatabasePath));
        await using var db = hub.NewContext();
        var tables = await db.Database.SqlQuery<string>($"SELECT name AS Value FROM sqlite_master WHERE type = 'table'").ToListAsync(Ct);
        Assert.Superset(new HashSet<string> { "Images", "Runs", "RunImages", "ChatSessions", "ChatMessages", "ShareLinks", "ShareLinkItems", "AbVotes", "Embeddings", "Owners", "RunSearch", "AspNetUsers" }, tables.ToHashSet());
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
}

[Collection(PostgresServer.Collection)]
public sealed class DatabaseTestsOnPostgres(PostgresServer server) : DatabaseTests(server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Full_text_search_is_a_tsvector_column_with_a_gin_index()
    {
        await using var hub = await HubDataHarness.StartAsync(server);
        await using var db = hub.NewContext();
        Assert.Equal("tsvector", await Scalar(db, """SELECT data_type FROM information_schema.columns WHERE table_name = 'Runs' AND column_name = 'SearchVector'"""));
        Assert.Equal("gin", await Scalar(db, """SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.relname = 'IX_Runs_SearchVector'"""));

        // The search RunStore sends can be answered from the index (not a scan of every prompt): with sequential scans
        // priced out, the plan for the query it composes reads IX_Runs_SearchVector.
        await Scalar(db, "SET enable_seqscan = off");
        var plan = string.Join('\n', await db.Database.SqlQuery<string>($"""
            EXPLAIN SELECT "Id" AS "Value" FROM "Runs" WHERE "SearchVector" @@ to_tsquery('simple', hub_unaccent({"'red':* & 'star':*"}))
            """).ToListAsync(Ct));
        Assert.Contains("IX_Runs_SearchVector", plan);
    }

    [Fact]
    public async Task Identity_tables_are_created_on_postgres()
    {
        await using var hub = await HubDataHarness.StartAsync(server);
        await using var db = hub.NewContext();
        var tables = await db.Database.SqlQuery<string>($"""SELECT table_name AS "Value" FROM information_schema.tables WHERE table_schema = 'public'""").ToListAsync(Ct);
        Assert.Superset(new HashSet<string> { "AspNetUsers", "AspNetRoles", "AspNetUserRoles", "AspNetUserClaims", "AspNetUserLogins", "AspNetUserTokens", "AspNetRoleClaims", "ApiKeys", "ImageUploads", "Runs", "Images", "Embeddings", "TextEmbeddings", "__EFMigrationsHistory" }, tables.ToHashSet());
    }
}
