namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// Sampler settings for one generation, resolved against the model's generation_config.json defaults. Temperature 0
/// (or do_sample false with no temperature given) means greedy.
/// </summary>
public sealed record SamplingOptions
{
    public bool Greedy { get; init; }
    public double Temperature { get; init; } = 1;
    public int TopK { get; init; }
    public double TopP { get; init; } = 1;
    public double MinP { get; init; }
    public double RepetitionPenalty { get; init; } = 1;
    public double PresencePenalty { get; init; }
    public double FrequencyPenalty { get; init; }
    public int MaxNewTokens { get; init; } = 256;
    public IReadOnlyList<string> StopSequences { get; init; } = [];
    public long? Seed { get; init; }
    /// <summary>Keep generating past the model's eos ids, until the token limit or a stop sequence (vLLM / llama.cpp's ignore_eos).</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>The ids that end a row: the model's eos ids, or none with ignore_eos (ids beyond the tokenizer stay masked by the samplers' VocabMask).</summary>
    public IReadOnlySet<int> EndIds(IReadOnlySet<int> eosIds) => IgnoreEos ? new HashSet<int>() : eosIds;

    public static SamplingOptions GreedyDefault(int maxNewTokens) => new() { Greedy = true, MaxNewTokens = maxNewTokens };

    /// <summary>Temperatures below this are greedy (dividing logits by less gives ±∞/NaN).</summary>
    public const double MinTemperature = 1e-5;

    /// <summary>
    /// The request's values over the model's defaults; validates every value the request gave and names the offending
    /// field. A default max_new_tokens (generation_config.json or the engine's) is clamped to [1, contextWindow - 1]:
    /// a model default the window cannot hold must not make every request fail blaming max_tokens. With a context window,
    /// a max_new_tokens that leaves no room for the prompt is rejected (named by the request's max-tokens field).
    /// </summary>
    public static SamplingOptions Resolve(GenerationDefaults d, SamplingRequest r, int defaultMaxNewTokens, int? contextWindow = null)
    {
        if (r.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 100)) throw new InvalidRequestException("temperature", "temperature must be a number between 0 and 100.");
        if (r.TopP is { } p && (double.IsNaN(p) || p <= 0 || p > 1)) throw new InvalidRequestException("top_p", "top_p must be in (0, 1].");
        if (r.TopK is { } k && k < 0) throw new InvalidRequestException("top_k", "top_k must be 0 (off) or a positive integer.");
        if (r.MinP is { } m && (double.IsNaN(m) || m < 0 || m > 1)) throw new InvalidRequestException("min_p", "min_p must be in [0, 1].");
        if (r.RepetitionPenalty is { } rp && (double.IsNaN(rp) || rp <= 0 || rp > 10)) throw new InvalidRequestException("repetition_penalty", "repetition_penalty must be in (0, 10].");
        if (r.PresencePenalty is { } pp && (double.IsNaN(pp) || pp < -2 || pp > 2)) throw new InvalidRequestException("presence_penalty", "presence_penalty must be between -2 and 2.");
        if (r.FrequencyPenalty is { } fp && (double.IsNaN(fp) || fp < -2 || fp > 2)) throw new InvalidRequestException("frequency_penalty", "frequency_penalty must be between -2 and 2.");
        if (r.MaxNewTokens is { } mx && (mx < 1 || mx > 32768)) throw new InvalidRequestException(r.MaxTokensField, $"{r.MaxTokensField} must be between 1 and 32768.");
        var stops = r.Stop ?? [];
        if (stops.Count > 4) throw new InvalidRequestException("stop", "At most 4 stop sequences are allowed.");
        if (stops.Any(string.IsNullOrEmpty)) throw new InvalidRequestException("stop", "Stop sequences must not be empty.");
        if (stops.Any(s => s.Length > 200)) throw new InvalidRequestException("stop", "Stop sequences must be at most 200 characters.");

        var temperature = r.Temperature ?? (d.DoSample ? d.Temperature : 0);
        var options = new SamplingOptions
        {
            Greedy = temperature < MinTemperature,
            Temperature = temperature < MinTemperature ? 1 : temperature,
            TopK = r.TopK ?? (r.Temperature is null || d.DoSample ? d.TopK : 0),
            TopP = r.TopP ?? (r.Temperature is null || d.DoSample ? d.TopP : 1),
            MinP = r.MinP ?? d.MinP,
            RepetitionPenalty = r.RepetitionPenalty ?? d.RepetitionPenalty,
            PresencePenalty = r.PresencePenalty ?? 0,
            FrequencyPenalty = r.FrequencyPenalty ?? 0,
            MaxNewTokens = r.MaxNewTokens ?? Math.Clamp(d.MaxNewTokens ?? defaultMaxNewTokens, 1, Math.Max(1, (contextWindow ?? int.MaxValue) - 1)),
            StopSequences = stops,
            Seed = r.Seed,
            IgnoreEos = r.IgnoreEos ?? false,
        };
        if (contextWindow is { } window && options.MaxNewTokens >= window)
            throw new InvalidRequestException(r.MaxTokensField, $"{r.MaxTokensField} must be less than the context window ({window} tokens).");
        return options;
    }
}

/// <summary>Sampler fields as a caller gave them (null = the model's default).</summary>
public sealed record SamplingRequest(
    double? Temperature = null, double? TopP = null, int? TopK = null, double? MinP = null, double? RepetitionPenalty = null,
    double? PresencePenalty = null, double? FrequencyPenalty = null, int? MaxNewTokens = null, IReadOnlyList<string>? Stop = null,
    long? Seed = null, string MaxTokensField = "max_tokens", bool? IgnoreEos = null);
