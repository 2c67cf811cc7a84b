namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// The processor chain plus the final choice (argmax, or a draw from the softmax with a seeded generator), in
/// transformers' order: vocab mask → repetition penalty → presence/frequency → temperature → top-k → top-p → min-p.
/// One instance per sequence (it owns the random generator).
/// </summary>
public sealed class TokenSampler
{
    private readonly IReadOnlyList<ILogitsProcessor> _processors;
    private readonly Random _random;

    public TokenSampler(SamplingOptions options, int vocabSize)
    {
        Options = options;
        _processors = Chain(options, vocabSize);
        _random = options.Seed is { } s ? new Random(unchecked((int)(s ^ (s >> 32)))) : new Random();
    }

    public SamplingOptions Options { get; }

    /// <summary>Optional: which ids may come next (response_format's grammar); applied before every other processor, told each choice.</summary>
    public ITokenConstraint? Constraint { get; init; }

    /// <summary>Optional: records each chosen id's log-probability under the model's own distribution.</summary>
    public LogprobRecorder? Logprobs { get; init; }

    public static IReadOnlyList<ILogitsProcessor> Chain(SamplingOptions o, int vocabSize)
    {
        var list = new List<ILogitsProcessor> { new VocabMask(vocabSize) };
        if (o.RepetitionPenalty != 1) list.Add(new RepetitionPenalty(o.RepetitionPenalty));
        if (o.PresencePenalty != 0 || o.FrequencyPenalty != 0) list.Add(new PresenceFrequencyPenalty(o.PresencePenalty, o.FrequencyPenalty));
        if (o.Greedy) return list; // warpers do not change the argmax
        if (o.Temperature != 1) list.Add(new Temperature(o.Temperature));
        if (o.TopK > 0) list.Add(new TopK(o.TopK));
        if (o.TopP < 1) list.Add(new TopP(o.TopP));
        if (o.MinP > 0) list.Add(new MinP(o.MinP));
        return list;
    }

    /// <summary>Apply the chain to a copy of the row and choose the next id.</summary>
    public int Next(ReadOnlySpan<float> logits, IReadOnlyList<int> context, IReadOnlyList<int> generated)
    {
        var row = logits.ToArray();
        Constraint?.Mask(row);
        foreach (var p in _processors) p.Process(row, context, generated);
        var id = Options.Greedy ? ArgMax(row) : Draw(row);
        Constraint?.Accept(id);
        Logprobs?.Record(logits, id);
        return id;
    }

    /// <summary>The filtered distribution (for inspection and tests): probabilities after the whole chain.</summary>
    public double[] Distribution(ReadOnlySpan<float> logits, IReadOnlyList<int> context, IReadOnlyList<int> generated)
    {
        var row = logits.ToArray();
        foreach (var p in _processors) p.Process(row, context, generated);
        return Softmax.Of(row);
    }

    public static int ArgMax(ReadOnlySpan<float> row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    private int Draw(float[] row)
    {
        var p = Softmax.Of(row);
        var u = _random.NextDouble();
        double cum = 0;
        var last = 0;
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] <= 0) continue;
            last = i;
            cum += p[i];
            if (u < cum) return i;
        }
        return last;
    }
}
