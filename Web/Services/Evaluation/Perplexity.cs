using MultimodalHub.Contracts;
using MultimodalHub.Web.Client;

namespace MultimodalHub.Web.Services.Evaluation;

/// <summary>One token of a scored text: its characters in the text (offsets from the service), its log-probability
/// given the tokens before it (null for the first token, which has no context), and the most likely alternatives.</summary>
public sealed record ScoredToken(string Text, string Token, double? Logprob, IReadOnlyList<TokenAlternative> Top)
{
    /// <summary>exp(logprob), or null for the unscored first token.</summary>
    public double? Probability => Logprob is { } l ? Math.Exp(l) : null;
}

public sealed record TokenAlternative(string Token, double Logprob)
{
    public double Probability => Math.Exp(Logprob);
}

/// <summary>
/// A text's perplexity under a causal language model: exp of the mean negative log-likelihood of its tokens, each
/// given the ones before it. The first token has no context and is not counted (as in transformers' perplexity recipe
/// with no BOS token).
/// </summary>
public sealed record PerplexityResult(string Model, IReadOnlyList<ScoredToken> Tokens)
{
    public int ScoredTokens => Tokens.Count(t => t.Logprob is not null);

    /// <summary>Mean negative log-likelihood per scored token, in nats.</summary>
    public double MeanNll => ScoredTokens == 0 ? double.NaN : -Tokens.Where(t => t.Logprob is not null).Average(t => t.Logprob!.Value);

    public double Perplexity => Math.Exp(MeanNll);

    /// <summary>The service's legacy logprobs of an echoed prompt as tokens; each token's characters are cut from
    /// <paramref name="text"/> at the returned offsets, so the pieces put together are the text itself.</summary>
    public static PerplexityResult From(string model, string text, CompletionLogprobs logprobs)
    {
        var n = logprobs.Tokens.Count;
        if (logprobs.TokenLogprobs.Count != n || logprobs.TextOffset.Count != n || logprobs.TopLogprobs.Count != n)
            throw new InvalidOperationException("The service's logprobs lists differ in length.");
        var tokens = new List<ScoredToken>(n);
        for (var i = 0; i < n; i++)
        {
            var start = Math.Clamp(logprobs.TextOffset[i], 0, text.Length);
            var end = i + 1 < n ? Math.Clamp(logprobs.TextOffset[i + 1], start, text.Length) : text.Length;
            var top = (logprobs.TopLogprobs[i] ?? new Dictionary<string, double>())
                .Select(kv => new TokenAlternative(kv.Key, kv.Value)).OrderByDescending(a => a.Logprob).ToList();
            tokens.Add(new ScoredToken(text[start..end], logprobs.Tokens[i], logprobs.TokenLogprobs[i], top));
        }
        return new PerplexityResult(model, tokens);
    }
}

/// <summary>Scores a text through the inference service: POST /v1/completions with echo, max_tokens 0 and logprobs
/// (OpenAI's way of getting a prompt's log-probabilities), nothing generated.</summary>
public sealed class PerplexityScorer(InferenceClient client)
{
    /// <summary>Alternatives per token asked for (the legacy API's maximum).</summary>
    public const int MaxAlternatives = 5;

    public async Task<PerplexityResult> ScoreAsync(string model, string text, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (string.IsNullOrEmpty(text)) throw new ArgumentException("The text is empty.", nameof(text));
        var response = await client.PostJsonAsync<CompletionRequest, TextCompletionResponse>("v1/completions",
            new CompletionRequest { Model = model, Prompt = text, Echo = true, MaxTokens = 0, Logprobs = MaxAlternatives }, ct);
        var logprobs = response.Choices is [{ Logprobs: { } l }, ..] ? l
            : throw new InferenceProblemException(System.Net.HttpStatusCode.BadGateway, "No logprobs", "The inference service sent no log-probabilities for the text.", null);
        return PerplexityResult.From(response.Model, text, logprobs);
    }
}
