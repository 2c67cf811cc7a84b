using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Services;

internal sealed class StartupRecovery(
    IDbContextFactory<HubDbContext> dbs,
    TimeProvider time,
    ILogger<StartupRecovery> logger) : IStartupRecovery
{
    public const string InterruptedError = "interrupted: the service restarted";

    public async Task<int> RecoverAsync(CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var recovered = await db.Runs
            .Where(r => RunStore.Unfinished.Contains(r.Status))
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, RunStatus.Failed)
                .SetProperty(r => r.Error, InterruptedError)
                .SetProperty(r => r.Finished, now), ct);
        if (recovered > 0)
            logger.LogWarning("Marked {Count} runs left queued or running by a previous process as failed", recovered);
        return recovered;
    }
}
