using MultimodalHub.Contracts;
using Prometheus;

namespace MultimodalHub.Inference.Runtime;

/// <summary>
/// The service's Prometheus metrics (HTTP request counts and latency come from prometheus-net's middleware).
/// Engines report their work here: queue depth and wait, run time, tokens and images produced.
/// </summary>
public sealed class HubMetrics
{
    private readonly Counter _loads = Metrics.CreateCounter("hub_model_loads_total", "Models loaded.", "model", "kind");
    private readonly Counter _loadFailures = Metrics.CreateCounter("hub_model_load_failures_total", "Model loads that failed.", "model", "kind");
    private readonly Histogram _loadSeconds = Metrics.CreateHistogram("hub_model_load_seconds", "Time to load a model.",
        new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(0.01, 2, 14) });
    private readonly Gauge _loaded = Metrics.CreateGauge("hub_models_loaded", "Whether a model is in memory (1) or not (0).", "model");
    private readonly Histogram _runSeconds = Metrics.CreateHistogram("hub_inference_seconds", "Time spent running a model for one request.",
        new HistogramConfiguration { LabelNames = ["model", "operation"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
    private readonly Counter _tokens = Metrics.CreateCounter("hub_generated_tokens_total", "Tokens generated.", "model");
    private readonly Counter _images = Metrics.CreateCounter("hub_generated_images_total", "Images generated.", "model");
    private readonly Counter _errors = Metrics.CreateCounter("hub_inference_errors_total", "Failed inference requests.", "model", "operation");
    private readonly Gauge _queueDepth = Metrics.CreateGauge("hub_queue_depth", "Requests waiting in a model's queue.", "model");
    private readonly Histogram _queueWait = Metrics.CreateHistogram("hub_queue_wait_seconds", "Time requests waited in a queue.",
        new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });

    public void ModelLoaded(string model, ModelKind kind, TimeSpan elapsed)
    {
        _loads.WithLabels(model, kind.ToString().ToLowerInvariant()).Inc();
        _loadSeconds.WithLabels(model).Observe(elapsed.TotalSeconds);
        _loaded.WithLabels(model).Set(1);
    }

    public void ModelLoadFailed(string model, ModelKind kind) => _loadFailures.WithLabels(model, kind.ToString().ToLowerInvariant()).Inc();

    public void ModelUnloaded(string model) => _loaded.WithLabels(model).Set(0);

    public void Ran(string model, string operation, TimeSpan elapsed) => _runSeconds.WithLabels(model, operation).Observe(elapsed.TotalSeconds);

    public void Failed(string model, string operation) => _errors.WithLabels(model, operation).Inc();

    public void Tokens(string model, int count) => _tokens.WithLabels(model).Inc(count);

    public void Images(string model, int count) => _images.WithLabels(model).Inc(count);

    public void QueueDepth(string model, int depth) => _queueDepth.WithLabels(model).Set(depth);

    public void QueueWait(string model, TimeSpan waited) => _queueWait.WithLabels(model).Observe(waited.TotalSeconds);
}
