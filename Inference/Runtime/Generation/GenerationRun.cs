using System.Diagnostics;

namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// The frame every text-generating engine's RunAsync shares: the model's queue slot (entered here unless the caller
/// already holds one, as streaming does before it starts the response), the CPU-bound generation on the thread pool with
/// its deltas pumped to the caller, then metrics and one log line; cancellations are logged, failures counted.
/// </summary>
public static class GenerationRun
{
    public static async Task<GenerationSummary> RunAsync(ModelQueues queues, HubMetrics metrics, ILogger log, string modelId, string operation, IDisposable? slot,
        Func<Action<TextDelta>, CancellationToken, GenerationSummary> work, Func<TextDelta, CancellationToken, ValueTask>? onDelta, CancellationToken ct)
    {
        using var held = slot ?? await queues.EnterAsync(modelId, ct);
        var started = Stopwatch.StartNew();
        try
        {
            var summary = await DeltaPump.RunAsync(work, onDelta, ct);
            var t = summary.Timings;
            metrics.Ran(modelId, operation, started.Elapsed);
            metrics.Tokens(modelId, t.GeneratedTokens);
            log.LogInformation("{Operation} {Model}: {PromptTokens} prompt tokens ({Cached} from cache), {Generated} generated, prefill {PrefillMs:F1} ms, {TokensPerSecond:F1} tokens/s, {ElapsedMs} ms",
                operation, modelId, t.PromptTokens, summary.CachedTokens, t.GeneratedTokens, t.PrefillMs, t.DecodeTokensPerSecond, started.ElapsedMilliseconds);
            return summary;
        }
        catch (OperationCanceledException)
        {
            log.LogInformation("{Operation} {Model} cancelled after {ElapsedMs} ms", operation, modelId, started.ElapsedMilliseconds);
            throw;
        }
        catch (Exception e) when (e is not InvalidRequestException)
        {
            metrics.Failed(modelId, operation);
            throw;
        }
    }
}
