using System.Threading.Channels;
using MultimodalHub.Contracts;

namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>New text of choice <see cref="Index"/>, as it is decoded; Logprobs: the entries of the tokens it came from (when asked for).</summary>
public sealed record TextDelta(int Index, string Text, IReadOnlyList<TokenLogprob>? Logprobs = null);

/// <summary>One finished answer. Votes: the self-consistency tally (answer → samples). Logprobs: one entry per generated token but the final eos (when asked for).</summary>
public sealed record GeneratedChoice(int Index, string Text, string FinishReason, IReadOnlyList<int> Ids, IReadOnlyDictionary<string, int>? Votes = null,
    IReadOnlyList<TokenLogprob>? Logprobs = null);

/// <summary>
/// What an engine returns for one request: the answers, timings, prompt tokens reused from a cache, trimming note, and
/// (for /v1/completions' echo with logprobs) one entry per prompt token after the first.
/// </summary>
public sealed record GenerationSummary(string Model, IReadOnlyList<GeneratedChoice> Choices, LoopTimings Timings, int CachedTokens = 0, ContextNote? Context = null,
    IReadOnlyList<TokenLogprob>? PromptLogprobs = null, SpeculationStats? Speculation = null)
{
    public CompletionUsage Usage => new(Timings.PromptTokens, Timings.GeneratedTokens, Timings.PromptTokens + Timings.GeneratedTokens);

    public GenerationTimings ApiTimings => new(Timings.PromptTokens, Timings.GeneratedTokens, Math.Round(Timings.PrefillMs, 3), Math.Round(Timings.DecodeMs, 3),
        Math.Round(Timings.DecodeTokensPerSecond, 2), Math.Round(Timings.TimeToFirstTokenMs, 3), Math.Round(Timings.TotalMs, 3), CachedTokens,
        Speculation?.Drafted, Speculation?.Accepted);
}

/// <summary>
/// Runs a synchronous, CPU-bound generation on the thread pool while its text deltas are handed, in order, to an
/// async consumer (an SSE writer). A consumer failure or cancellation cancels the generation.
/// </summary>
public static class DeltaPump
{
    public static async Task<T> RunAsync<T>(Func<Action<TextDelta>, CancellationToken, T> work, Func<TextDelta, CancellationToken, ValueTask>? onDelta, CancellationToken ct)
    {
        if (onDelta is null) return await Task.Run(() => work(_ => { }, ct), ct);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var channel = Channel.CreateUnbounded<TextDelta>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var producer = Task.Run(() =>
        {
            try { return work(d => channel.Writer.TryWrite(d), linked.Token); }
            finally { channel.Writer.TryComplete(); }
        }, linked.Token);
        try
        {
            await foreach (var d in channel.Reader.ReadAllAsync(linked.Token))
            {
                linked.Token.ThrowIfCancellationRequested(); // buffered deltas are not delivered after cancellation
                await onDelta(d, linked.Token);
            }
        }
        catch
        {
            linked.Cancel();
            try { await producer; } catch { /* the consumer's exception wins */ }
            throw;
        }
        return await producer;
    }
}
