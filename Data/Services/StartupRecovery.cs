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
        int? me = null;
        if (db.Database.IsNpgsql())
        {
            // This instance's own lease first (taken again if a cut connection or a server restart dropped it):
            // its runs are alive, whatever the lock table says.
            await instance.RenewLeaseAsync(ct);
            me = await instance.IdAsync(ct);
            var live = HubInstance.LiveInstances(db);
            stale = stale.Where(r => r.Instance == null || (r.Instance != me && !live.Contains(r.Instance.Value)));
        }
        var recovered = await stale
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, RunStatus.Failed)
                .SetProperty(r => r.Error, InterruptedError)
                .SetProperty(r => r.Finished, now), ct);
        if (recovered > 0)
            logger.LogWarning("Marked {Count} runs left queued or running by a process that is gone as failed", recovered);
        if (me is not null)
        {
            // The service keys of instances that are gone stop working now, not only when another instance starts.
            var live = HubInstance.LiveInstances(db);
            var revoked = await db.ApiKeys
                .Where(k => k.IsService && k.RevokedAt == null && k.Instance != null && k.Instance != me && !live.Contains(k.Instance.Value))
                .ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, now), ct);
            if (revoked > 0)
                logger.LogInformation("Revoked {Count} service keys of web app instances that are gone", revoked);
        }
        return recovered;
    }
}
