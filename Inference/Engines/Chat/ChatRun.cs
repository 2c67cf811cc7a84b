using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>
/// What a run adds to plain sampling: each token's logprob with this many alternatives; a constraint per choice
/// (response_format); speculative decoding's draft source (one answer at a time) with DraftTokens per round.
/// </summary>
public sealed record ChatRunOptions(int? TopLogprobs = null, Func<ITokenConstraint>? NewConstraint = null, Func<IDraftSource>? NewDraft = null, int DraftTokens = 0);

/// <summary>Generates n answers to one prompt as one batch through the shared KV-cache loop, decoding text as it streams.</summary>
public static class ChatRun
{
    public static (IReadOnlyList<GeneratedChoice> Choices, LoopTimings Timings) Run(ChatModel model, IReadOnlyList<int> promptIds, SamplingOptions options,
        int n, Action<TextDelta> onDelta, CancellationToken ct, ChatRunOptions? run = null)
    {
        var rows = Enumerable.Repeat(promptIds, n).ToArray();
        var (ids, mask, _) = GenerationLoop.LeftPad(rows, model.PadId);
        var endIds = options.EndIds(model.EosIds);
        var samplers = ChatSample.Samplers(options, n, model.VocabSize, endIds, run);
        var decoders = samplers.Select(s => new ChatDecode(model.Tokenizer, options.StopSequences, s.Logprobs)).ToArray();
        var settings = new GenerationSettings(samplers, endIds, options.MaxNewTokens, model.PadId);
        using var output = GenerationLoop.Run(model.Runner, new GenerationInput(StepInput.OfIds(ids, n), mask, rows), settings,
            next => StepInput.OfIds(next, n), (row, id) => decoders[row].Push(row, id, onDelta), ct);
        var choices = new GeneratedChoice[n];
        for (var i = 0; i < n; i++)
        {
            decoders[i].Flush(i, onDelta);
            choices[i] = new GeneratedChoice(i, decoders[i].Text, output.Rows[i].FinishReason, output.Rows[i].Ids, null, samplers[i].Logprobs?.All);
        }
        var t = output.Timings;
        // Prompt tokens count once, not once per choice.
        return (choices, t with { PromptTokens = promptIds.Count });
    }

    /// <summary>One answer with speculative decoding (<see cref="SpeculativeLoop"/>): the same ids as <see cref="Run"/>, fewer decoder runs.</summary>
    public static (GeneratedChoice Choice, LoopTimings Timings, SpeculationStats Stats) RunSpeculative(ChatModel model, IReadOnlyList<int> promptIds,
        SamplingOptions options, Action<TextDelta> onDelta, ChatRunOptions run, CancellationToken ct)
    {
        var endIds = options.EndIds(model.EosIds);
        var sampler = ChatSample.Samplers(options, 1, model.VocabSize, endIds, run)[0];
        var decoder = new ChatDecode(model.Tokenizer, options.StopSequences, sampler.Logprobs);
        using var drafts = run.NewDraft!();
        var (output, stats) = SpeculativeLoop.Run(model.Runner.HostCache, promptIds, sampler, endIds, options.MaxNewTokens, drafts, run.DraftTokens,
            (row, id) => decoder.Push(row, id, onDelta), ct);
        decoder.Flush(0, onDelta);
        var row = output.Rows[0];
        return (new GeneratedChoice(0, decoder.Text, row.FinishReason, row.Ids, null, sampler.Logprobs?.All), output.Timings, stats);
    }

    /// <summary>Self-consistency: sample k answers, return the most common (normalised) one with the tally.</summary>
    public static (GeneratedChoice Choice, LoopTimings Timings) Vote(ChatModel model, IReadOnlyList<int> promptIds, SamplingOptions options, int k, CancellationToken ct,
        ChatRunOptions? run = null)
    {
        var sampled = options.Greedy ? options with { Greedy = false, Temperature = 0.7 } : options;
        var (choices, timings) = Run(model, promptIds, sampled, k, _ => { }, ct, run);
        var votes = choices.GroupBy(c => Normalise(c.Text)).OrderByDescending(g => g.Count()).ThenBy(g => g.Min(c => c.Index)).ToList();
        var winner = votes[0].OrderBy(c => c.Index).First();
        var tally = votes.ToDictionary(g => g.Key, g => g.Count());
        return (winner with { Index = 0, Votes = tally }, timings);
    }

    /// <summary>/v1/completions' echo with max_tokens 0: no generation, only the prompt's log-probabilities (n empty choices).</summary>
    public static GenerationSummary ScoreOnly(ChatModel model, PreparedChat chat, IReadOnlyList<TokenLogprob> promptLogprobs)
    {
        var choices = Enumerable.Range(0, chat.Job.N).Select(i => new GeneratedChoice(i, "", FinishReasons.Length, [], null, [])).ToArray();
        return new GenerationSummary(model.Id, choices, new LoopTimings(chat.Prompt.Ids.Count, 0, 0, 0, 0, 0), 0, chat.Prompt.Context, promptLogprobs);
    }

    private static string Normalise(string answer) => answer.Trim().TrimEnd('.', '!', '?').Trim().ToLowerInvariant();
}
