using System.Diagnostics;

namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// Beam search as transformers' BeamSearchScorer (early_stopping false): keep num_beams running hypotheses by summed
/// log-probability, move a hypothesis ending in eos to the finished set with score sum / length^length_penalty,
/// stop when num_beams are finished and no running beam can beat the worst of them, return the best.
/// The prompt is prefilled once (batch 1) and its cache copied to every beam; caches are reordered each step.
/// </summary>
public static class BeamSearch
{
    public static GenerationOutput Run(DecoderRunner runner, GenerationInput input, int numBeams, double lengthPenalty,
        int maxNewTokens, IReadOnlySet<int> eosIds, int vocabSize, double repetitionPenalty,
        Func<long[], StepInput> nextInput, CancellationToken ct)
    {
        if (input.Prompt.Batch != 1) throw new ArgumentException("beam search takes one prompt", nameof(input));
        var total = Stopwatch.StartNew();
        // The greedy chain: vocab mask, then the repetition penalty when it is not 1 (no warpers: beams rank log-probabilities).
        var processors = TokenSampler.Chain(new SamplingOptions { Greedy = true, RepetitionPenalty = repetitionPenalty }, vocabSize);
        // Only the repetition penalty reads the context (prompt + the beam's ids); without it none is built.
        var needsContext = repetitionPenalty != 1;
        var prompt = input.ContextIds[0];
        var finished = new List<(List<int> Ids, double Score)>();
        var beams = new List<(List<int> Ids, double Sum)> { ([], 0) };
        using var empty = input.Past is null ? KvCache.Empty(runner.Spec, 1) : null;
        var mask = input.AttentionMask;
        KvCache? cache = null;
        double prefillMs = 0, ttft = 0;
        var decode = new Stopwatch();
        var done = false; // every running beam is beaten by num_beams finished ones (transformers' is_done)
        try
        {
            var first = runner.Run(input.Prompt, mask, DecoderRunner.Positions(mask, 1, input.Prompt.Length), input.Past ?? empty!, ct);
            prefillMs = total.Elapsed.TotalMilliseconds;
            cache = first.Cache;
            var logits = first.LastLogits;
            var width = first.Width;
            for (var n = 0; n < maxNewTokens; n++)
            {
                ct.ThrowIfCancellationRequested();
                var candidates = new List<(int Beam, int Id, double Sum)>();
                for (var k = 0; k < beams.Count; k++)
                {
                    var row = logits.AsSpan(k * width, width).ToArray();
                    IReadOnlyList<int> ctx = needsContext ? prompt.Concat(beams[k].Ids).ToList() : [];
                    foreach (var p in processors) p.Process(row, ctx, beams[k].Ids);
                    var lp = Softmax.Log(row);
                    foreach (var id in Ranking.Top<double>(lp, 2 * numBeams)) candidates.Add((k, id, beams[k].Sum + lp[id]));
                }
                candidates.Sort((a, b) => b.Sum.CompareTo(a.Sum));
                var next = new List<(List<int> Ids, double Sum)>();
                var sources = new List<int>();
                for (var rank = 0; rank < candidates.Count && next.Count < numBeams; rank++)
                {
                    var c = candidates[rank];
                    var ids = new List<int>(beams[c.Beam].Ids) { c.Id };
                    if (eosIds.Contains(c.Id))
                    {
                        if (rank < numBeams) finished.Add((ids, c.Sum / Math.Pow(ids.Count, lengthPenalty)));
                        continue;
                    }
                    next.Add((ids, c.Sum));
                    sources.Add(c.Beam);
                }
                if (n == 0) { ttft = total.Elapsed.TotalMilliseconds; decode.Start(); }
                finished.Sort((a, b) => b.Score.CompareTo(a.Score));
                if (finished.Count > numBeams) finished.RemoveRange(numBeams, finished.Count - numBeams);
                beams = next;
                if (beams.Count == 0) break;
                if (finished.Count >= numBeams)
                {
                    var bestRunning = beams.Max(b => b.Sum) / Math.Pow(beams[0].Ids.Count, lengthPenalty);
                    if (bestRunning <= finished[^1].Score) { done = true; break; }
                }
                if (n == maxNewTokens - 1) break;
                var reordered = cache.Gather(sources);
                cache.Dispose();
                cache = reordered;
                mask = Enumerable.Range(0, beams.Count).SelectMany(_ => Enumerable.Repeat(1L, cache.Length + 1)).ToArray();
                var fed = beams.Select(b => (long)b.Ids[^1]).ToArray();
                var output = runner.Run(nextInput(fed), mask, DecoderRunner.Positions(mask, beams.Count, 1), cache, ct);
                cache.Dispose();
                cache = output.Cache;
                logits = output.LastLogits;
            }
            decode.Stop();
            // transformers' finalize: unless the search was done, the running beams (cut at max length) join the finished
            // hypotheses with the same score sum / length^length_penalty, and the best of all wins.
            var hypotheses = finished.Select(f => (f.Ids, f.Score, Eos: true)).ToList();
            if (!done)
                hypotheses.AddRange(beams.Select(b => (b.Ids, b.Sum / Math.Pow(Math.Max(1, b.Ids.Count), lengthPenalty), Eos: false)));
            var winner = hypotheses.MaxBy(h => h.Score);
            var best = winner.Eos ? new SequenceResult(winner.Ids, FinishReasons.Stop, true) : new SequenceResult(winner.Ids, FinishReasons.Length, false);
            var timings = new LoopTimings(prompt.Count, best.Ids.Count, prefillMs, decode.Elapsed.TotalMilliseconds, ttft, total.Elapsed.TotalMilliseconds);
            return new GenerationOutput([best], timings, null);
        }
        finally
        {
            cache?.Dispose();
        }
    }
}
