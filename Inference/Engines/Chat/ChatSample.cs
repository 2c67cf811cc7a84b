using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>Request sampler fields → validated <see cref="SamplingOptions"/> over the model's generation_config.json.</summary>
public static class ChatSample
{
    public static SamplingRequest From(ChatCompletionRequest r)
    {
        if (r.MaxTokens is not null && r.MaxCompletionTokens is not null && r.MaxTokens != r.MaxCompletionTokens)
            throw new InvalidRequestException("max_completion_tokens", "max_tokens and max_completion_tokens differ; give one.");
        return From(r, r.MaxCompletionTokens ?? r.MaxTokens, r.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens");
    }

    public static SamplingRequest From(CompletionRequest r) => From(r, r.MaxTokens, "max_tokens");

    private static SamplingRequest From(GenerationRequest r, int? maxTokens, string maxTokensField) =>
        new(r.Temperature, r.TopP, r.TopK, r.MinP, r.RepetitionPenalty, r.PresencePenalty, r.FrequencyPenalty, maxTokens, r.Stop, r.Seed,
            maxTokensField, r.IgnoreEos);

    /// <summary>The engine default is capped at half the context window; max_tokens is checked against the window.</summary>
    public static SamplingOptions Resolve(GenerationDefaults defaults, SamplingRequest request, int defaultMax, int contextWindow) =>
        SamplingOptions.Resolve(defaults, request, Math.Min(defaultMax, contextWindow / 2), contextWindow);

    /// <summary>
    /// One sampler per choice; choice i uses seed + i so that n choices differ yet stay reproducible. With run options,
    /// each gets its own logprob recorder and constraint.
    /// </summary>
    public static TokenSampler[] Samplers(SamplingOptions options, int count, int vocabSize, IReadOnlySet<int>? endIds = null, ChatRunOptions? run = null) =>
        Enumerable.Range(0, count).Select(i => new TokenSampler(options with { Seed = options.Seed + i }, vocabSize)
        {
            Logprobs = run?.TopLogprobs is { } top ? new LogprobRecorder(vocabSize, top, endIds ?? new HashSet<int>()) : null,
            Constraint = run?.NewConstraint?.Invoke(),
        }).ToArray();
}
