namespace MultimodalHub.Inference.Cli;

/// <summary>What `bench` prints: where it ran, the settings, and one entry per workload.</summary>
public sealed record BenchReport(
    string Target,
    bool InProcess,
    BenchMachine Machine,
    int RequestsPerLevel,
    double DurationCapSeconds,
    int Warmup,
    IReadOnlyList<int> Concurrency,
    IReadOnlyList<BenchWorkloadResult> Workloads,
    int ServerErrors);

public sealed record BenchMachine(int ProcessorCount, string Os, string Framework);

/// <summary>One workload: its route, the warm-up latencies (the first includes model load), one row per concurrency level; Error when the warm-up failed (no levels then).</summary>
public sealed record BenchWorkloadResult(
    string Workload,
    string Route,
    IReadOnlyList<double> WarmupMs,
    double? BaselineP50Ms,
    IReadOnlyList<BenchLevelResult> Levels,
    string? Error = null);

/// <summary>
/// One concurrency level: requests sent, 2xx, 429s, other errors (non-2xx other than 429, timeouts, connection
/// failures; server_errors counts the 5xx among them), ok responses per second over the level's wall time, latency
/// percentiles of the ok responses, and p50 / the concurrency-1 p50.
/// </summary>
public sealed record BenchLevelResult(
    int Concurrency,
    int Requests,
    int Ok,
    int TooManyRequests,
    int Errors,
    int ServerErrors,
    bool StoppedByDuration,
    double ElapsedSeconds,
    double RequestsPerSecond,
    double? MeanMs,
    double? P50Ms,
    double? P95Ms,
    double? P99Ms,
    double? P50Ratio,
    IReadOnlyList<string> ErrorSamples);
