using System.Data.Common;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MultimodalHub.Data.Services;

namespace MultimodalHub.Data.Storage;

/// <summary>Every <see cref="DataOptions.UnattachedImageSweepInterval"/>, deletes images older than
/// <see cref="DataOptions.UnattachedImageRetention"/> that nothing references: a dropped or pasted image that never
/// became part of a run would otherwise stay on disk forever. A failed sweep is logged and tried again next interval.</summary>
internal sealed class UnattachedImageSweeper(
    IBlobStore blobs,
    IOptions<DataOptions> options,
    TimeProvider time,
    ILogger<UnattachedImageSweeper> logger) : BackgroundService
{
    private const int BatchSize = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var (retention, interval) = (options.Value.UnattachedImageRetention, options.Value.UnattachedImageSweepInterval);
        if (retention <= TimeSpan.Zero || interval <= TimeSpan.Zero)
        {
            logger.LogInformation("Sweeping of unattached images is off");
            return;
        }
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await SweepOnceAsync(retention, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SweepOnceAsync(TimeSpan retention, CancellationToken ct)
    {
        var cutoff = time.GetUtcNow() - retention;
        var total = 0;
        try
        {
            int deleted;
            do
            {
                deleted = await blobs.SweepUnattachedAsync(cutoff, BatchSize, ct);
                total += deleted;
            } while (deleted == BatchSize);
        }
        catch (Exception e) when (e is DbException or IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Sweeping unattached images failed after {Count} deletions; trying again next interval", total);
            return;
        }
        if (total > 0)
            logger.LogInformation("Deleted {Count} unattached images stored before {Cutoff:u}", total, cutoff);
    }
}
