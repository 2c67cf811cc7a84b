using System.Diagnostics;
using MultimodalHub.Contracts;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Web.Client;

namespace MultimodalHub.Web.Services.Evaluation;

/// <summary>One contestant of the arena: a chat model and its sampler settings (seed null = a random one per answer).</summary>
public sealed record ArenaContestant(string Model, double Temperature, double TopP, int MaxTokens, long? Seed = null)
{
    public const int MaxTokensLimit = 4096;

    /// <summary>The settings as a run stores them (the Chat page's names).</summary>
    public string ParametersJson() => RunText.ToJson(new { model = Model, temperature = Temperature, top_p = TopP, max_tokens = MaxTokens, seed = Seed, arena = true });

    /// <summary>What the Elo ranking calls this contestant (<see cref="RunText.ChatContender"/> of its stored parameters).</summary>
    public string Contender => RunText.ChatContender(Model, ParametersJson());

    public ChatCompletionRequest Request(string prompt) => new()
    {
        Model = Model,
        Messages = [new ChatCompletionMessage("user", ChatContent.Of(prompt))],
        Temperature = Temperature,
        TopP = TopP,
        MaxTokens = MaxTokens,
        Seed = Seed,
    };
}

/// <summary>One side's answer as it streams: the text so far, then the outcome (run id, timings, or a readable error).</summary>
public sealed class ArenaAnswer(ArenaContestant contestant)
{
    public ArenaContestant Contestant { get; } = contestant;
    public string Text { get; internal set; } = "";
    public bool Done { get; internal set; }
    public string? Error { get; internal set; }
    public long? RunId { get; internal set; }
    public GenerationTimings? Timings { get; internal set; }
    public TimeSpan Elapsed { get; internal set; }
    public bool Succeeded => Done && Error is null;
}

/// <summary>One arena round: the prompt and the two answers, A and B.</summary>
public sealed record ArenaRound(string Prompt, ArenaAnswer A, ArenaAnswer B)
{
    public bool Done => A.Done && B.Done;
    public bool CanVote => A.Succeeded && B.Succeeded;
}

/// <summary>
/// The side-by-side arena: one prompt to two chat contestants (two models, or one model with two sampler settings),
/// both answers streamed at once through the inference service's streaming chat API, each recorded as a chat run;
/// the user's vote goes into the A/B votes (as text answers), so the preference pairs and the Elo ranking get it.
/// </summary>
public sealed class ArenaRunner(InferenceClient client, RunRecorder recorder, IRatingService ratings)
{
    /// <summary>Longest prompt accepted (the model's context window is checked by the service).</summary>
    public const int MaxPromptChars = 20_000;

    /// <summary>A readable message for a round that cannot start, or null when it can.</summary>
    public static string? Validate(string? prompt, ArenaContestant a, ArenaContestant b, IReadOnlyCollection<string> models)
    {
        if (string.IsNullOrWhiteSpace(prompt)) return "Type a prompt first.";
        if (prompt.Length > MaxPromptChars) return $"The prompt is longer than {MaxPromptChars} characters.";
        foreach (var (c, side) in new[] { (a, "A"), (b, "B") })
        {
            if (string.IsNullOrWhiteSpace(c.Model)) return $"Contestant {side}: pick a chat model.";
            if (!models.Contains(c.Model)) return $"Contestant {side}: unknown chat model '{c.Model}' (the inference service has {(models.Count == 0 ? "none" : string.Join(", ", models))}).";
            if (c.Temperature is < 0 or > 2 || !double.IsFinite(c.Temperature)) return $"Contestant {side}: temperature must be between 0 and 2.";
            if (c.TopP is <= 0 or > 1 || !double.IsFinite(c.TopP)) return $"Contestant {side}: top-p must be above 0 and at most 1.";
            if (c.MaxTokens is < 1 or > ArenaContestant.MaxTokensLimit) return $"Contestant {side}: max tokens must be between 1 and {ArenaContestant.MaxTokensLimit}.";
            if (c.Seed is < 0) return $"Contestant {side}: the seed cannot be negative.";
        }
        if (a.Contender == b.Contender)
            return "A and B are the same contestant (model and settings): change the model or a setting of one of them.";
        return null;
    }

    /// <summary>A new round (nothing runs yet): the prompt, and the contestants on sides A and B.</summary>
    public static ArenaRound Start(string prompt, ArenaContestant a, ArenaContestant b) => new(prompt.Trim(), new ArenaAnswer(a), new ArenaAnswer(b));

    /// <summary>Streams both answers of the round at once, each recorded as a chat run of <paramref name="ownerId"/>;
    /// <paramref name="changed"/> is called as text arrives and when each side ends. Never throws for a failed side:
    /// its <see cref="ArenaAnswer.Error"/> says why.</summary>
    public Task RunAsync(string ownerId, ArenaRound round, Func<Task> changed, CancellationToken ct = default) =>
        Task.WhenAll(AnswerAsync(ownerId, round.Prompt, round.A, changed, ct), AnswerAsync(ownerId, round.Prompt, round.B, changed, ct));

    private async Task AnswerAsync(string ownerId, string prompt, ArenaAnswer answer, Func<Task> changed, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var contestant = answer.Contestant;
        var outcome = await recorder.ExecuteAsync(new NewRun(RunKind.Chat, contestant.Model, prompt, ParametersJson: contestant.ParametersJson()) { OwnerId = ownerId },
            async (_, token) =>
            {
                await foreach (var chunk in client.StreamChatAsync(contestant.Request(prompt), token))
                {
                    foreach (var c in chunk.Choices)
                        if (c.Delta.Content is { } d) answer.Text += d;
                    answer.Timings = chunk.Timings ?? answer.Timings;
                    await changed();
                }
                return new RunOutputs(Text: answer.Text, TimingsJson: answer.Timings is null ? null : RunText.ToJson(answer.Timings));
            }, ct);
        answer.RunId = outcome.RunId;
        answer.Elapsed = clock.Elapsed;
        answer.Error = outcome.Succeeded ? null : outcome.Cancelled ? "Stopped." : outcome.Error;
        answer.Done = true;
        await changed();
    }

    /// <summary>Records the vote on a finished round: the two answers as texts, the contestants' labels as contenders.</summary>
    public Task<AbVote> VoteAsync(OwnerScope owner, ArenaRound round, AbWinner winner, CancellationToken ct = default)
    {
        if (!round.CanVote) throw new InvalidOperationException("Both answers must have finished to vote.");
        return ratings.RecordAbVoteAsync(owner, round.Prompt,
            AbCandidate.OfText(round.A.Text, round.A.Contestant.Contender, round.A.RunId),
            AbCandidate.OfText(round.B.Text, round.B.Contestant.Contender, round.B.RunId), winner, ct);
    }

    /// <summary>The Elo ranking of the contestants that met in the arena (text votes), best first.</summary>
    public Task<IReadOnlyList<EloEntry>> RankingAsync(OwnerScope owner, CancellationToken ct = default) =>
        ratings.EloRankingAsync(owner, AbVoteKind.Text, ct: ct);
}
