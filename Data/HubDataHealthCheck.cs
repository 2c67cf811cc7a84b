using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace MultimodalHub.Data;

/// <summary>Readiness of the store: the database answers a trivial query and the blob folder is writable. Cheap
/// enough to poll every few seconds (the integrity check runs once at start, in MigrateHubDataAsync).
/// Register with <c>services.AddHealthChecks().AddCheck&lt;HubDataHealthCheck&gt;("data")</c>.</summary>
public sealed class HubDataHealthCheck(IDbContextFactory<HubDbContext> dbs, IOptions<DataOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var db = await dbs.CreateDbContextAsync(cancellationToken);
            await db.Database.OpenConnectionAsync(cancellationToken);
            await using var cmd = db.Database.GetDbConnection().CreateCommand();
            cmd.CommandText = "SELECT 1;";
            await cmd.ExecuteScalarAsync(cancellationToken);
            var probe = Path.Combine(options.Value.ResolvedBlobPath, $".probe-{Guid.NewGuid():N}");
            await File.WriteAllBytesAsync(probe, [], cancellationToken);
            File.Delete(probe);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"Data store unavailable: {e.Message}");
        }
    }
}
