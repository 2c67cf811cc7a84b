using MultimodalHub.Contracts;
using MultimodalHub.Web.Client;

namespace MultimodalHub.Web.Services;

/// <summary>What the web app last learned about the inference service.</summary>
public sealed record InferenceHealthState(
    bool Checked,
    bool Reachable,
    ReadinessReport? Readiness,
    IReadOnlyList<ModelInfo> Models,
    string? Error,
    DateTimeOffset CheckedAt)
{
    public static readonly InferenceHealthState Unknown = new(false, false, null, [], null, DateTimeOffset.MinValue);

    public bool Ready => Reachable && Readiness?.Status == "ready";

    public ModelInfo? FirstOf(ModelKind kind) => Models.FirstOrDefault(m => m.Kind == kind && m.Status == ModelStatus.Ready);
}

/// <summary>
/// Polls the inference service (GET /readyz + GET /v1/models) and tells subscribers (the layout banner, Home) when
/// what it knows changes. One instance for the whole app: one poll serves every open page.
/// </summary>
public sealed class InferenceHealth(IServiceScopeFactory scopes, ILogger<InferenceHealth> logger, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public InferenceHealthState Current { get; private set; } = InferenceHealthState.Unknown;

    public event Action<InferenceHealthState>? Changed;

    /// <summary>Checks now (at most one check at a time; concurrent callers share its result).</summary>
    public async Task<InferenceHealthState> CheckNowAsync(CancellationToken ct = default)
    {
        var before = Current.CheckedAt;
        await _gate.WaitAsync(ct);
        try
        {
            if (Current.CheckedAt != before) return Current; // someone else just checked
            using var scope = scopes.CreateScope();
            var client = scope.ServiceProvider.GetRequiredService<InferenceClient>();
            var state = await ProbeAsync(client, time, ct);
            if (state.Reachable != Current.Reachable || !Current.Checked)
            {
                if (state.Reachable) logger.LogInformation("Inference service reachable ({Status})", state.Readiness?.Status);
                else logger.LogWarning("Inference service unreachable: {Error}", state.Error);
            }
            Current = state;
        }
        finally { _gate.Release(); }
        Changed?.Invoke(Current);
        return Current;
    }

    /// <summary>Asks one client for readiness and models; never throws for an unreachable or failing service.</summary>
    public static async Task<InferenceHealthState> ProbeAsync(InferenceClient client, TimeProvider time, CancellationToken ct)
    {
        try
        {
            var readiness = await client.GetReadinessAsync(ct);
            var models = await client.ListModelsAsync(ct);
            return new InferenceHealthState(true, true, readiness, models.Data, null, time.GetUtcNow());
        }
        catch (InferenceUnavailableException e)
        {
            return new InferenceHealthState(true, false, null, [], $"{e.BaseUrl}: {e.Reason}.", time.GetUtcNow());
        }
        catch (InferenceProblemException e)
        {
            return new InferenceHealthState(true, true, null, [], $"The inference service answered {(int)e.Status}: {e.Message}", time.GetUtcNow());
        }
    }

    public void Dispose() => _gate.Dispose();
}

/// <summary>Re-checks the inference service every few seconds (faster while it is down).</summary>
public sealed class InferenceHealthPoller(InferenceHealth health) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await health.CheckNowAsync(stoppingToken); }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            var delay = health.Current.Reachable ? TimeSpan.FromSeconds(15) : TimeSpan.FromSeconds(3);
            try { await Task.Delay(delay, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
