using System.Diagnostics;

namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// The prompt of a generation: the new tokens to feed (ids or embeddings, [batch, length], left-padded), the
/// attention mask over past + new tokens, an optional cache to continue from (not disposed by the loop), and the
/// ids each row has seen so far (for the repetition penalty).
/// </summary>
public sealed record GenerationInput(StepInput Prompt, long[] AttentionMask, IReadOnlyList<IReadOnlyList<int>> ContextIds, KvCache? Past = null);

/// <summary>How to generate: one sampler per row, the ids that end a row, the token limit, whether to use the KV cache.</summary>
public sealed record GenerationSettings(IReadOnlyList<TokenSampler> Samplers, IReadOnlySet<int> EosIds, int MaxNewTokens, int PadId,
    bool UseCache = true, bool KeepCache = false);

/// <summary>One row's result: the generated ids (with the eos that stopped it, if any) and why it ended.</summary>
public sealed record SequenceResult(IReadOnlyList<int> Ids, string FinishReason, bool EndedWithEos)
{
    /// <summary>The ids without the stopping eos.</summary>
    public IReadOnlyList<int> Content => EndedWithEos ? Ids.Take(Ids.Count - 1).ToArray() : Ids;
}

/// <summary>Timings of a generation (Ollama's figures).</summary>
public sealed record LoopTimings(int PromptTokens, int GeneratedTokens, double PrefillMs, double DecodeMs, double TimeToFirstTokenMs, double TotalMs)
{
    public double DecodeTokensPerSecond => GeneratedTokens > 1 && DecodeMs > 0 ? (GeneratedTokens - 1) * 1000.0 / DecodeMs : 0;
}

/// <summary>Results per row; Cache (when KeepCache) covers the prompt and every generated id but the last.</summary>
public sealed record GenerationOutput(IReadOnlyList<SequenceResult> Rows, LoopTimings Timings, KvCache? Cache) : IDisposable
{
    public void Dispose() => Cache?.Dispose();
}

/// <summary>
/// The KV-cache decoder loop shared by the chat and VLM engines: prefill the prompt (zero-length past, or a kept
/// cache), then one token per step feeding only the new token, attention mask grown by one and position ids
/// advanced by one each step, present.* fed back as past_key_values.*. Checks cancellation every step.
/// With UseCache false it recomputes the whole prefix every step (the reference for tests and the benchmark).
/// </summary>
public static class GenerationLoop
{
    /// <param name="nextInput">Turns the chosen ids (one per row) into the next step's input [batch, 1].</param>
    /// <param name="onToken">Called with (row, id) for each chosen id that is not an eos; return true to stop that row (stop sequence).</param>
    public static GenerationOutput Run(DecoderRunner runner, GenerationInput input, GenerationSettings settings,
        Func<long[], StepInput> nextInput, Func<int, int, bool>? onToken, CancellationToken ct)
    {
        var batch = input.Prompt.Batch;
        if (settings.Samplers.Count != batch) throw new ArgumentException("one sampler per row is required", nameof(settings));
        var total = Stopwatch.StartNew();
        var context = input.ContextIds.Select(c => c.ToList()).ToArray();
        var generated = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
        var finish = new string?[batch];
        var eosEnded = new bool[batch];
        var mask = input.AttentionMask;
        var emptyPast = input.Past is null ? KvCache.Empty(runner.Spec, batch) : null;
        var basePast = input.Past ?? emptyPast!;
        KvCache? cache = null;
        var full = input.Prompt;
        double prefillMs = 0, ttft = 0;
        var decode = new Stopwatch();
        try
        {
            var step = input.Prompt;
            for (var n = 0; n < settings.MaxNewTokens; n++)
            {
                ct.ThrowIfCancellationRequested();
                var sw = Stopwatch.StartNew();
                // Without the cache every step re-runs the whole sequence (at n = 0 that is the prompt, as with it).
                var output = settings.UseCache
                    ? runner.Run(step, mask, DecoderRunner.Positions(mask, batch, step.Length), cache ?? basePast, ct)
                    : runner.Run(full, mask, DecoderRunner.Positions(mask, batch, full.Length), basePast, ct);
                if (n == 0) prefillMs = sw.Elapsed.TotalMilliseconds;
                cache?.Dispose();
                cache = output.Cache;

                var chosen = new long[batch];
                for (var b = 0; b < batch; b++)
                {
                    if (finish[b] is not null) { chosen[b] = settings.PadId; continue; }
                    var id = settings.Samplers[b].Next(output.Row(b), context[b], generated[b]);
                    chosen[b] = id;
                    generated[b].Add(id);
                    context[b].Add(id);
                    if (settings.EosIds.Contains(id)) { finish[b] = FinishReasons.Stop; eosEnded[b] = true; }
                    else if (onToken?.Invoke(b, id) == true) finish[b] = FinishReasons.Stop;
                }
                if (n == 0) { ttft = total.Elapsed.TotalMilliseconds; decode.Start(); }
                if (finish.All(f => f is not null)) break;
                if (n == settings.MaxNewTokens - 1) break;

                // Grow the mask by one real position per row and feed only the new ids.
                step = nextInput(chosen);
                mask = Grow(mask, batch);
                if (!settings.UseCache) full = full.Append(step);
            }
            decode.Stop();
            for (var b = 0; b < batch; b++) finish[b] ??= FinishReasons.Length;
            var rows = Enumerable.Range(0, batch).Select(b => new SequenceResult(generated[b], finish[b]!, eosEnded[b])).ToArray();
            var promptTokens = input.ContextIds.Sum(c => c.Count);
            var timings = new LoopTimings(promptTokens, generated.Sum(g => g.Count), prefillMs, decode.Elapsed.TotalMilliseconds, ttft, total.Elapsed.TotalMilliseconds);
            if (settings.KeepCache && settings.UseCache)
            {
                var kept = cache;
                cache = null;
                return new GenerationOutput(rows, timings, kept);
            }
            return new GenerationOutput(rows, timings, null);
        }
        finally
        {
            cache?.Dispose();
            emptyPast?.Dispose();
        }
    }

    /// <summary>The mask with a 1 appended to each row.</summary>
    public static long[] Grow(long[] mask, int batch)
    {
        var len = mask.Length / batch;
        var grown = new long[batch * (len + 1)];
        for (var b = 0; b < batch; b++)
        {
            mask.AsSpan(b * len, len).CopyTo(grown.AsSpan(b * (len + 1)));
            grown[b * (len + 1) + len] = 1;
        }
        return grown;
    }

    /// <summary>Left-pad rows of ids to one length: ids [batch, max] (pad id in front) and mask (0 in front).</summary>
    public static (long[] Ids, long[] Mask, int Length) LeftPad(IReadOnlyList<IReadOnlyList<int>> rows, int padId)
    {
        var len = rows.Max(r => r.Count);
        var ids = new long[rows.Count * len];
        var mask = new long[rows.Count * len];
        for (var b = 0; b < rows.Count; b++)
        {
            var off = len - rows[b].Count;
            for (var t = 0; t < len; t++)
            {
                ids[b * len + t] = t < off ? padId : rows[b][t - off];
                mask[b * len + t] = t < off ? 0 : 1;
            }
        }
        return (ids, mask, len);
    }
}
