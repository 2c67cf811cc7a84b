using System.Diagnostics;

namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>Proposes tokens that may continue a sequence; the target model verifies them (speculative decoding).</summary>
public interface IDraftSource : IDisposable
{
    /// <summary>Up to <paramref name="max"/> ids that may follow <paramref name="sequence"/> (prompt and generated ids so far).</summary>
    IReadOnlyList<int> Propose(IReadOnlyList<int> sequence, int max, CancellationToken ct);
}

/// <summary>
/// Prompt lookup (transformers' prompt_lookup_num_tokens): the last n ids (n from <paramref name="maxNgram"/> down to 1)
/// are looked up earlier in the sequence, and the ids that followed their first occurrence are the draft. Costs no model run.
/// </summary>
public sealed class PromptLookupDraft(int maxNgram = 3) : IDraftSource
{
    public IReadOnlyList<int> Propose(IReadOnlyList<int> sequence, int max, CancellationToken ct)
    {
        var len = sequence.Count;
        if (max <= 0) return [];
        for (var n = Math.Min(maxNgram, len - 1); n >= 1; n--)
        {
            for (var start = 0; start + n < len; start++)
            {
                var match = true;
                for (var j = 0; j < n && match; j++) match = sequence[start + j] == sequence[len - n + j];
                if (!match) continue;
                var from = start + n;
                var to = Math.Min(from + max, len);
                if (from >= to) continue;
                var draft = new int[to - from];
                for (var j = 0; j < draft.Length; j++) draft[j] = sequence[from + j];
                return draft;
            }
        }
        return [];
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// A smaller decoder with the same tokenizer drafts greedily, keeping its own KV cache across rounds (cut back to the
/// part of the sequence that was accepted).
/// </summary>
public sealed class DraftModelSource(DecoderRunner draft, int vocabSize) : IDraftSource
{
    private KvCache? _cache;
    private readonly List<int> _cached = []; // the ids the cache covers

    public IReadOnlyList<int> Propose(IReadOnlyList<int> sequence, int max, CancellationToken ct)
    {
        if (max <= 0) return [];
        // Keep the cache for the common prefix of what it holds and the sequence, minus one (the last id must be fed to get logits).
        var keep = 0;
        while (keep < _cached.Count && keep < sequence.Count - 1 && _cached[keep] == sequence[keep]) keep++;
        if (_cache is null) _cache = KvCache.Empty(draft.Spec, 1);
        else if (keep < _cache.Length)
        {
            var cut = _cache.Truncate(keep);
            _cache.Dispose();
            _cache = cut;
        }
        _cached.RemoveRange(keep, _cached.Count - keep);
        var feed = new List<int>(sequence.Skip(keep));
        var proposed = new List<int>(max);
        while (proposed.Count < max)
        {
            var ids = feed.Select(i => (long)i).ToArray();
            var total = _cache.Length + ids.Length;
            var mask = new long[total];
            Array.Fill(mask, 1L);
            var output = draft.Run(StepInput.OfIds(ids, 1), mask, DecoderRunner.Positions(mask, 1, ids.Length), _cache, ct);
            _cache.Dispose();
            _cache = output.Cache;
            _cached.AddRange(feed);
            var next = TokenSampler.ArgMax(output.Row(0)[..Math.Min(vocabSize, output.Width)]);
            proposed.Add(next);
            feed = [next];
        }
        return proposed;
    }

    public void Dispose() => _cache?.Dispose();
}

/// <summary>Draft tokens proposed and accepted over a generation.</summary>
public sealed record SpeculationStats(int Rounds, int Drafted, int Accepted)
{
    public double AcceptanceRate => Drafted == 0 ? 0 : (double)Accepted / Drafted;
}

/// <summary>
/// Speculative decoding for one sequence: each round the draft source proposes up to k ids, the target model runs the
/// ids not yet in its cache plus the draft in one pass and returns the logits of the last k + 1 positions; the sampler
/// then chooses at each position in turn as plain decoding would (same processors, same random draws), accepting draft
/// ids while its choice equals them; the first differing choice (or, with every draft id accepted, one more) is the
/// round's last token, and the KV cache is cut back to the accepted ids. Greedy output is the plain loop's; with a seed,
/// sampling draws one number per emitted token as the plain loop does, so it is the same too.
/// </summary>
public static class SpeculativeLoop
{
    public static (GenerationOutput Output, SpeculationStats Stats) Run(DecoderRunner runner, IReadOnlyList<int> prompt, TokenSampler sampler,
        IReadOnlySet<int> eosIds, int maxNewTokens, IDraftSource drafts, int draftTokens, Func<int, int, bool>? onToken, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var sequence = prompt.ToList();
        var generated = new List<int>();
        string? finish = null;
        var eosEnded = false;
        KvCache cache = KvCache.Empty(runner.Spec, 1);
        double prefillMs = 0, ttft = 0;
        var decode = new Stopwatch();
        int rounds = 0, drafted = 0, accepted = 0;
        try
        {
            while (finish is null && generated.Count < maxNewTokens)
            {
                ct.ThrowIfCancellationRequested();
                var sw = Stopwatch.StartNew();
                var draft = drafts.Propose(sequence, Math.Min(draftTokens, maxNewTokens - generated.Count - 1), ct);
                // Nothing after an end id can be accepted: the draft stops there.
                var endAt = draft.Select((id, i) => eosIds.Contains(id) ? i : -1).FirstOrDefault(i => i >= 0, -1);
                if (endAt >= 0) draft = draft.Take(endAt + 1).ToArray();
                var cached = cache.Length;
                var feed = new long[sequence.Count - cached + draft.Count];
                for (var i = cached; i < sequence.Count; i++) feed[i - cached] = sequence[i];
                for (var i = 0; i < draft.Count; i++) feed[sequence.Count - cached + i] = draft[i];
                var mask = new long[cached + feed.Length];
                Array.Fill(mask, 1L);
                var output = runner.Run(StepInput.OfIds(feed, 1), mask, DecoderRunner.Positions(mask, 1, feed.Length), cache, ct, draft.Count + 1);
                if (rounds == 0) prefillMs = sw.Elapsed.TotalMilliseconds;
                var before = sequence.Count;
                var taken = 0;
                for (var j = 0; j <= draft.Count; j++)
                {
                    var id = sampler.Next(output.At(0, j), sequence, generated);
                    generated.Add(id);
                    sequence.Add(id);
                    if (eosIds.Contains(id)) { finish = FinishReasons.Stop; eosEnded = true; }
                    else if (onToken?.Invoke(0, id) == true) finish = FinishReasons.Stop;
                    var matched = j < draft.Count && id == draft[j];
                    if (matched) taken++;
                    if (finish is not null || generated.Count >= maxNewTokens || !matched) break;
                }
                if (rounds == 0) { ttft = total.Elapsed.TotalMilliseconds; decode.Start(); }
                rounds++;
                drafted += draft.Count;
                accepted += taken;
                cache.Dispose();
                // The cache now covers the sequence before this round plus every draft id; keep what was accepted.
                if (taken == draft.Count) cache = output.Cache;
                else
                {
                    cache = output.Cache.Truncate(before + taken);
                    output.Cache.Dispose();
                }
            }
            decode.Stop();
            var row = new SequenceResult(generated, finish ?? FinishReasons.Length, eosEnded);
            var timings = new LoopTimings(prompt.Count, generated.Count, prefillMs, decode.Elapsed.TotalMilliseconds, ttft, total.Elapsed.TotalMilliseconds);
            return (new GenerationOutput([row], timings, null), new SpeculationStats(rounds, drafted, accepted));
        }
        finally
        {
            cache.Dispose();
        }
    }
}
