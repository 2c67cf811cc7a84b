using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace MultimodalHub.Data;

/// <summary>Readiness of the store: the database answers and passes PRAGMA quick_check, and the blob folder is writable.
/// Register with <c>services.AddHealthChecks().AddCheck&lt;HubDataHealthCheck&gt;("data")</c>.</summary>
public sealed class HubDataHealthCheck(IDbContextFactory<HubDbContext> dbs, IOptions<DataOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            await db.Database.OpenConnectionAsync(ct);
            await using var cmd = db.Database.GetDbConnection().CreateCommand();
            cmd.CommandText = "PRAGMA quick_check;";
            var check = (string?)await cmd.ExecuteScalarAsync(ct);
            if (check != "ok")
                return HealthCheckResult.Unhealthy($"SQLite quick_check: {check}");
            var probe = Path.Combine(options.Value.ResolvedBlobPath, $".probe-{Guid.NewGuid():N}");
            await File.WriteAllBytesAsync(probe, [], ct);
            File.Delete(probe);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"Data store unavailable: {e.Message}");
        }
    }
}
