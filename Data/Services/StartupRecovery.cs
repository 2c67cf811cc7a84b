using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Storage;

namespace MultimodalHub.Data.Services;

/// <summary>Fails runs left queued or running by a process that is gone. SQLite (one process per file): at start,
/// every unfinished run. PostgreSQL (several instances): only runs whose instance no longer holds its lease
/// (<see cref="HubInstance"/>), at start and every <see cref="DataOptions.RunRecoveryInterval"/>; a live instance's
/// runs are left alone.</summary>
internal sealed class StartupRecovery(
    IDbContextFactory<HubDbContext> dbs,
    TimeProvider time,
    HubInstance instance,
    ILogger<StartupRecovery> logger) : IStartupRecovery
{
    public const string InterruptedError = "interrupted: the service restarted";

    public async Task<int> RecoverAsync(CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var stale = db.Runs.Where(r => RunStore.Unfinished.Contains(r.Status));
        if (db.Database.IsNpgsql())
        {
            await instance.IdAsync(ct); // this instance's own lease first: its runs are alive
            var live = HubInstance.LiveInstances(db);
            stale = stale.Where(r => r.Instance == null || !live.Contains(r.Instance.Value));
        }
        var recovered = await stale
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, RunStatus.Failed)
                .SetProperty(r => r.Error, InterruptedError)
                .SetProperty(r => r.Finished, now), ct);
        if (recovered > 0)
            logger.LogWarning("Marked {Count} runs left queued or running by a process that is gone as failed", recovered);
        return recovered;
    }
}
