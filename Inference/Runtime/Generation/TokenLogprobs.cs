namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>One alternative at a position: an id and its log-probability.</summary>
public sealed record TopLogprob(int Id, double Logprob);

/// <summary>
/// A chosen id's log-probability under the model's own next-token distribution (log-softmax of the raw logits over the
/// ids the tokenizer has, before penalties, temperature, truncation or a response_format mask, as vLLM's default),
/// with the most likely alternatives, best first.
/// </summary>
public sealed record TokenLogprob(int Id, double Logprob, IReadOnlyList<TopLogprob> Top)
{
    /// <summary>The log-probability of <paramref name="id"/> and the <paramref name="top"/> most likely ids under log-softmax(logits[..vocabSize]).</summary>
    public static TokenLogprob Of(ReadOnlySpan<float> logits, int vocabSize, int id, int top)
    {
        var row = logits[..Math.Min(vocabSize, logits.Length)];
        var lse = LogSumExp(row);
        var best = top > 0 ? Ranking.Top(row, top) : [];
        var alternatives = new TopLogprob[best.Count];
        for (var i = 0; i < best.Count; i++) alternatives[i] = new TopLogprob(best[i], row[best[i]] - lse);
        var logprob = (uint)id < (uint)row.Length ? row[id] - lse : double.NegativeInfinity;
        return new TokenLogprob(id, logprob, alternatives);
    }

    /// <summary>log Σ exp(x) in double precision.</summary>
    public static double LogSumExp(ReadOnlySpan<float> row)
    {
        var max = float.NegativeInfinity;
        foreach (var l in row) if (l > max) max = l;
        if (float.IsNegativeInfinity(max)) return double.NegativeInfinity;
        double sum = 0;
        foreach (var l in row) sum += Math.Exp(l - max);
        return max + Math.Log(sum);
    }
}

/// <summary>
/// Records, for one sequence, the log-probability of each chosen id (<see cref="TokenSampler.Logprobs"/>) except the
/// ids that end it (an eos is not part of the answer); <see cref="TakePending"/> hands out what was recorded since the
/// last call, so that a stream can attach each token's entry to the text delta it produced.
/// </summary>
public sealed class LogprobRecorder(int vocabSize, int top, IReadOnlySet<int> endIds)
{
    private readonly List<TokenLogprob> _all = [];
    private int _taken;

    /// <summary>Alternatives listed per position.</summary>
    public int Top => top;

    public IReadOnlyList<TokenLogprob> All => _all;

    public void Record(ReadOnlySpan<float> logits, int id)
    {
        if (endIds.Contains(id)) return;
        _all.Add(TokenLogprob.Of(logits, vocabSize, id, top));
    }

    /// <summary>The entries recorded since the last call.</summary>
    public IReadOnlyList<TokenLogprob> TakePending()
    {
        if (_taken == _all.Count) return [];
        var pending = _all.GetRange(_taken, _all.Count - _taken);
        _taken = _all.Count;
        return pending;
    }
}
