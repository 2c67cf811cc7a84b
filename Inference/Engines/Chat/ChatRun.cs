using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>Generates n answers to one prompt as one batch through the shared KV-cache loop, decoding text as it streams.</summary>
public static class ChatRun
{
    public static (IReadOnlyList<GeneratedChoice> Choices, LoopTimings Timings) Run(ChatModel model, IReadOnlyList<int> promptIds, SamplingOptions options,
        int n, Action<TextDelta> onDelta, CancellationToken ct)
    {
        var rows = Enumerable.Repeat(promptIds, n).ToArray();
        var (ids, mask, _) = GenerationLoop.LeftPad(rows, model.PadId);
        var decoders = Enumerable.Range(0, n).Select(_ => new ChatDecode(model.Tokenizer, options.StopSequences)).ToArray();
        var settings = new GenerationSettings(ChatSample.Samplers(options, n, model.VocabSize), options.EndIds(model.EosIds), options.MaxNewTokens, model.PadId);
        using var output = GenerationLoop.Run(model.Runner, new GenerationInput(StepInput.OfIds(ids, n), mask, rows), settings,
            next => StepInput.OfIds(next, n), (row, id) => decoders[row].Push(row, id, onDelta), ct);
        var choices = new GeneratedChoice[n];
        for (var i = 0; i < n; i++)
        {
            decoders[i].Flush(i, onDelta);
            choices[i] = new GeneratedChoice(i, decoders[i].Text, output.Rows[i].FinishReason, output.Rows[i].Ids);
        }
        var t = output.Timings;
        // Prompt tokens count once, not once per choice.
        return (choices, t with { PromptTokens = promptIds.Count });
    }

    /// <summary>Self-consistency: sample k answers, return the most common (normalised) one with the tally.</summary>
    public static (GeneratedChoice Choice, LoopTimings Timings) Vote(ChatModel model, IReadOnlyList<int> promptIds, SamplingOptions options, int k, CancellationToken ct)
    {
        var sampled = options.Greedy ? options with { Greedy = false, Temperature = 0.7 } : options;
        var (choices, timings) = Run(model, promptIds, sampled, k, _ => { }, ct);
        var votes = choices.GroupBy(c => Normalise(c.Text)).OrderByDescending(g => g.Count()).ThenBy(g => g.Min(c => c.Index)).ToList();
        var winner = votes[0].OrderBy(c => c.Index).First();
        var tally = votes.ToDictionary(g => g.Key, g => g.Count());
        return (winner with { Index = 0, Votes = tally }, timings);
    }

    private static string Normalise(string answer) => answer.Trim().TrimEnd('.', '!', '?').Trim().ToLowerInvariant();
}
