using Prometheus;

namespace MultimodalHub.Inference.Gateway;

/// <summary>The gateway's own Prometheus metrics, in a registry of its own (served at the gateway's /metrics).</summary>
public sealed class GatewayMetrics
{
    private readonly Counter _requests;
    private readonly Counter _retries;
    private readonly Gauge _outstanding;
    private readonly Gauge _ready;

    public GatewayMetrics()
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        _requests = factory.CreateCounter("gateway_requests_total", "Requests proxied, by worker and outcome (ok, http status class, failed).", "worker", "outcome");
        _retries = factory.CreateCounter("gateway_moved_total", "Requests moved off a worker before it took them (busy 429, connection failed, unknown job).", "worker", "reason");
        _outstanding = factory.CreateGauge("gateway_outstanding_requests", "Requests in flight per worker.", "worker");
        _ready = factory.CreateGauge("gateway_worker_ready", "1 when the worker's /readyz answered 200 at the last probe.", "worker");
    }

    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    public void Request(Worker worker, string outcome) => _requests.WithLabels(worker.Name, outcome).Inc();
    public void Moved(Worker worker, string reason) => _retries.WithLabels(worker.Name, reason).Inc();
    public void Outstanding(Worker worker) => _outstanding.WithLabels(worker.Name).Set(worker.Outstanding);
    public void WorkerReady(Worker worker) => _ready.WithLabels(worker.Name).Set(worker.Ready ? 1 : 0);
}
