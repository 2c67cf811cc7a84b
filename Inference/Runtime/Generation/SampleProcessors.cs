namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// One stage of logits processing, as transformers' LogitsProcessor/LogitsWarper: rewrites the next-token logits of
/// one sequence in place. Removed tokens get -inf.
/// </summary>
public interface ILogitsProcessor
{
    /// <param name="logits">Next-token logits (one row).</param>
    /// <param name="context">Every id of the sequence so far, prompt included.</param>
    /// <param name="generated">Ids generated so far.</param>
    void Process(Span<float> logits, IReadOnlyList<int> context, IReadOnlyList<int> generated);
}

/// <summary>Ids at or above the tokenizer's vocabulary size (padding of the logits) can never be chosen.</summary>
public sealed class VocabMask(int vocabSize) : ILogitsProcessor
{
    public void Process(Span<float> logits, IReadOnlyList<int> context, IReadOnlyList<int> generated)
    {
        if (vocabSize < logits.Length) logits[vocabSize..].Fill(float.NegativeInfinity);
    }
}

/// <summary>CTRL-style repetition penalty over every id already in the sequence: positive logits divided, negative multiplied.</summary>
public sealed class RepetitionPenalty(double penalty) : ILogitsProcessor
{
    public void Process(Span<float> logits, IReadOnlyList<int> context, IReadOnlyList<int> generated)
    {
        var seen = new HashSet<int>(context);
        foreach (var id in seen)
        {
            if ((uint)id >= (uint)logits.Length) continue;
            var l = logits[id];
            logits[id] = l > 0 ? (float)(l / penalty) : (float)(l * penalty);
        }
    }
}

/// <summary>OpenAI presence/frequency penalties over the generated ids: logit -= presence·[count > 0] + frequency·count.</summary>
public sealed class PresenceFrequencyPenalty(double presence, double frequency) : ILogitsProcessor
{
    public void Process(Span<float> logits, IReadOnlyList<int> context, IReadOnlyList<int> generated)
    {
        var counts = new Dictionary<int, int>();
        foreach (var id in generated) counts[id] = counts.GetValueOrDefault(id) + 1;
        foreach (var (id, n) in counts)
            if ((uint)id < (uint)logits.Length) logits[id] -= (float)(presence + frequency * n);
    }
}

/// <summary>Divide by the temperature.</summary>
public sealed class Temperature(double temperature) : ILogitsProcessor
{
    public void Process(Span<float> logits, IReadOnlyList<int> context, IReadOnlyList<int> generated)
    {
        var inv = (float)(1.0 / temperature);
        for (var i = 0; i < logits.Length; i++) logits[i] *= inv;
    }
}

/// <summary>Keep the k highest logits (ties with the k-th are kept, as transformers' TopKLogitsWarper).</summary>
public sealed class TopK(int k) : ILogitsProcessor
{
    public void Process(Span<float> logits, IReadOnlyList<int> context, IReadOnlyList<int> generated)
    {
        if (k <= 0 || k >= logits.Length) return;
        var top = Ranking.Top<float>(logits, k);
        // Fewer than k logits above -∞ (NaN skipped): the k-th largest is -∞ or NaN, and nothing compares below it.
        if (top.Count < k) return;
        var kth = logits[top[^1]];
        for (var i = 0; i < logits.Length; i++) if (logits[i] < kth) logits[i] = float.NegativeInfinity;
    }
}

/// <summary>
/// Nucleus: keep the smallest set of most likely tokens whose probability reaches p (transformers' TopPLogitsWarper:
/// ascending sort, drop tokens whose cumulative probability is ≤ 1 - p, always keep the most likely one).
/// </summary>
public sealed class TopP(double p) : ILogitsProcessor
{
    public void Process(Span<float> logits, IReadOnlyList<int> context, IReadOnlyList<int> generated)
    {
        if (p >= 1) return;
        var probs = Softmax.Of(logits);
        var order = Enumerable.Range(0, logits.Length).ToArray();
        var keys = logits.ToArray();
        Array.Sort(keys, order); // ascending, ties in index order
        double cum = 0;
        for (var j = 0; j < order.Length - 1; j++)
        {
            cum += probs[order[j]];
            if (cum <= 1 - p) logits[order[j]] = float.NegativeInfinity;
            else break;
        }
    }
}

/// <summary>min-p: drop tokens whose probability is below min_p × the top token's probability.</summary>
public sealed class MinP(double minP) : ILogitsProcessor
{
    public void Process(Span<float> logits, IReadOnlyList<int> context, IReadOnlyList<int> generated)
    {
        if (minP <= 0) return;
        var probs = Softmax.Of(logits);
        var threshold = probs.Max() * minP;
        for (var i = 0; i < logits.Length; i++) if (probs[i] < threshold) logits[i] = float.NegativeInfinity;
    }
}

public static class Softmax
{
    /// <summary>Probabilities in double precision (-inf logits get 0).</summary>
    public static double[] Of(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        foreach (var l in logits) if (l > max) max = l;
        var p = new double[logits.Length];
        if (float.IsNegativeInfinity(max)) return p;
        double sum = 0;
        for (var i = 0; i < logits.Length; i++) { p[i] = Math.Exp(logits[i] - max); sum += p[i]; }
        for (var i = 0; i < p.Length; i++) p[i] /= sum;
        return p;
    }

    /// <summary>log-softmax in double precision.</summary>
    public static double[] Log(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        foreach (var l in logits) if (l > max) max = l;
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        var lse = max + Math.Log(sum);
        var r = new double[logits.Length];
        for (var i = 0; i < logits.Length; i++) r[i] = logits[i] - lse;
        return r;
    }
}
