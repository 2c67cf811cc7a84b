using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MultimodalHub.Data.Storage;

/// <summary>On graceful shutdown, folds the WAL back into the database file (PRAGMA wal_checkpoint(TRUNCATE)),
/// so a stopped app leaves one self-contained hub.db. Committed data is durable without it; this only tidies up.</summary>
internal sealed class WalCheckpointOnShutdown(IDbContextFactory<HubDbContext> dbs, Microsoft.Extensions.Options.IOptions<DataOptions> options, ILogger<WalCheckpointOnShutdown> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Provider != DataProvider.Sqlite)
            return;
        try
        {
            await using var db = await dbs.CreateDbContextAsync(cancellationToken);
            await db.Database.OpenConnectionAsync(cancellationToken);
            await using var cmd = db.Database.GetDbConnection().CreateCommand();
            cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            await cmd.ExecuteNonQueryAsync(cancellationToken);
            logger.LogInformation("SQLite WAL checkpointed at shutdown");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "SQLite WAL checkpoint at shutdown failed");
        }
    }
}
