using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MultimodalHub.Data.Services;

namespace MultimodalHub.Data.Storage;

/// <summary>PostgreSQL only: every <see cref="DataOptions.RunRecoveryInterval"/>, fails the runs of instances that
/// died while this one lives on (at start, <see cref="HubDataServiceCollectionExtensions.MigrateHubDataAsync"/> does it).</summary>
internal sealed class RunRecoveryService(IServiceProvider services, IOptions<DataOptions> options, ILogger<RunRecoveryService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.Provider != DataProvider.Postgres || !o.RecoverStaleRunsAtStart || o.RunRecoveryInterval <= TimeSpan.Zero)
            return;
        using var timer = new PeriodicTimer(o.RunRecoveryInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await services.GetRequiredService<IStartupRecovery>().RecoverAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // Any failure (the database away, a timeout, a provider error) waits for the next interval: this
                // background loop must never stop the web app.
                logger.LogWarning(e, "Recovering the runs of instances that are gone failed; trying again next interval");
            }
        }
    }
}
