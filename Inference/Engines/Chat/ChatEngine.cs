using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Constrained;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>A validated chat job: the conversation (or a raw prompt), sampler fields, choices and preset.</summary>
public sealed record ChatJob(string? Model, IReadOnlyList<ChatMessage>? Messages, string? RawPrompt, SamplingRequest Sampling,
    int N = 1, ChatPreset Preset = ChatPreset.None, int? SelfConsistencySamples = null, ChatOutputRequest? Output = null,
    SpeculationRequest? Speculation = null);

/// <summary>Speculative decoding a request asks for: prompt lookup with this many draft tokens, or a draft model (with draft tokens per round).</summary>
public sealed record SpeculationRequest(int? PromptLookupTokens = null, string? DraftModel = null, int? DraftTokens = null);

/// <summary>
/// What a job asks beyond the answer's text: each token's log-probability with this many alternatives, the prompt's
/// log-probabilities too (/v1/completions' echo), scoring the prompt only (echo with max_tokens 0), and
/// response_format's schema (json_object: any object) to enforce while decoding.
/// </summary>
public sealed record ChatOutputRequest(int? TopLogprobs = null, bool PromptLogprobs = false, bool ScoreOnly = false, SchemaNode? Json = null);

/// <summary>A job ready to run: the model is loaded, the prompt tokenized and checked against the context window.</summary>
public sealed class PreparedChat(ModelLease<ChatModel> lease, ChatPrompt prompt, SamplingOptions options, ChatJob job, ChatRunOptions? run = null,
    IDisposable? draftLease = null) : IDisposable
{
    public ChatModel Model => lease.Value;
    public ChatPrompt Prompt { get; } = prompt;
    public SamplingOptions Options { get; } = options;
    public ChatJob Job { get; } = job;

    /// <summary>What the run adds to plain sampling (logprobs, a response_format constraint).</summary>
    public ChatRunOptions Run { get; } = run ?? new ChatRunOptions();

    public void Dispose()
    {
        draftLease?.Dispose();
        lease.Dispose();
    }
}

/// <summary>The chat engine: loads the model once, renders/trims prompts, queues per model, runs the loop, reports timings.</summary>
public sealed class ChatEngine(ModelRegistry registry, LoadedModels models, OrtSessionFactory sessions, ModelQueues queues, HubMetrics metrics,
    IOptions<ChatOptions> options, ILogger<ChatEngine> log)
{
    private readonly ChatOptions _options = options.Value;

    public ChatOptions Options => _options;

    /// <summary>Validate, load and tokenize; throws InvalidRequestException/ModelNotFoundException before any output is written.</summary>
    public async Task<PreparedChat> PrepareAsync(ChatJob job, CancellationToken ct)
    {
        if (job.N < 1 || job.N > _options.MaxChoices) throw new InvalidRequestException("n", $"n must be between 1 and {_options.MaxChoices}.");
        var k = job.SelfConsistencySamples ?? _options.SelfConsistencySamples;
        if (job.Preset == ChatPreset.SelfConsistency && (k < 2 || k > _options.MaxChoices))
            throw new InvalidRequestException("self_consistency_samples", $"self_consistency_samples must be between 2 and {_options.MaxChoices}.");
        var descriptor = registry.Resolve(job.Model, ModelKind.Chat);
        var lease = await AcquireAsync(descriptor, ct);
        try
        {
            var model = lease.Value;
            var window = _options.ContextWindow > 0 ? Math.Min(_options.ContextWindow, model.ContextWindow) : model.ContextWindow;
            var sampling = ChatSample.Resolve(model.Defaults, job.Sampling, _options.DefaultMaxTokens, window);
            var prompt = job.RawPrompt is not null
                ? ChatTokenize.Raw(model, job.RawPrompt, sampling.MaxNewTokens, window)
                : ChatTokenize.Build(model, ChatTokenize.ApplyPreset(job.Messages ?? [], job.Preset, _options), sampling.MaxNewTokens, window, job.Sampling.MaxTokensField, ct);
            if (prompt.Context is { } note) log.LogInformation("Chat prompt trimmed: {Dropped} message(s) dropped to fit {Window} tokens", note.DroppedMessages, window);
            var run = RunOptions(model, sampling, job.Output);
            var (speculation, draftLease) = await SpeculationAsync(model, job, ct);
            return new PreparedChat(lease, prompt, sampling, job, speculation is null ? run : run with { NewDraft = speculation.Value.NewDraft, DraftTokens = speculation.Value.Tokens }, draftLease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>The loaded model for a descriptor (loads it on first use).</summary>
    public Task<ModelLease<ChatModel>> AcquireAsync(ModelDescriptor descriptor, CancellationToken ct) =>
        models.AcquireAsync(descriptor, d => new ChatModel(d, sessions), ct);

    private static ChatRunOptions RunOptions(ChatModel model, SamplingOptions sampling, ChatOutputRequest? output)
    {
        if (output?.Json is not { } schema) return new ChatRunOptions(output?.TopLogprobs);
        if (sampling.IgnoreEos) throw new InvalidRequestException("ignore_eos", "ignore_eos cannot be combined with response_format: the answer must end where the JSON does.");
        var endIds = sampling.EndIds(model.EosIds);
        var index = model.TokenIndex;
        return new ChatRunOptions(output.TopLogprobs, () => new JsonConstraint(index, schema, endIds, sampling.MaxNewTokens));
    }

    /// <summary>
    /// The draft source a job gets: the request's prompt_lookup_num_tokens or draft_model, else the settings' defaults
    /// (Chat:PromptLookupTokens, Chat:DraftModels:{id}); none for several choices or self-consistency (one answer at a time).
    /// A draft model is loaded here and must share the target's tokenizer.
    /// </summary>
    private async Task<((Func<IDraftSource> NewDraft, int Tokens)? Draft, IDisposable? Lease)> SpeculationAsync(ChatModel model, ChatJob job, CancellationToken ct)
    {
        var s = job.Speculation;
        if (s?.PromptLookupTokens is < 0 or > 64) throw new InvalidRequestException("prompt_lookup_num_tokens", "prompt_lookup_num_tokens must be between 0 and 64.");
        if (s?.DraftTokens is < 1 or > 64) throw new InvalidRequestException("num_speculative_tokens", "num_speculative_tokens must be between 1 and 64.");
        if (s?.PromptLookupTokens > 0 && s.DraftModel is not null)
            throw new InvalidRequestException("draft_model", "Give either prompt_lookup_num_tokens or draft_model, not both.");
        var asked = s?.PromptLookupTokens > 0 || s?.DraftModel is not null;
        if (job.N > 1 || job.Preset == ChatPreset.SelfConsistency || job.Output?.ScoreOnly == true)
        {
            if (asked) throw new InvalidRequestException(s!.DraftModel is not null ? "draft_model" : "prompt_lookup_num_tokens", "Speculative decoding makes one answer at a time: n must be 1 (and no self_consistency preset).");
            return (null, null);
        }
        var lookup = s?.PromptLookupTokens ?? (s?.DraftModel is null ? _options.PromptLookupTokens : 0);
        if (lookup > 0) return ((() => new PromptLookupDraft(), lookup), null);
        var draftId = s?.DraftModel ?? (s?.PromptLookupTokens is null ? _options.DraftModels.GetValueOrDefault(model.Id) : null);
        if (draftId is null) return (null, null);
        var descriptor = registry.Find(draftId) ?? throw new ModelNotFoundException("draft_model", $"Unknown draft model '{draftId}'. GET /v1/models lists the installed ones.");
        if (descriptor.Kind != ModelKind.Chat) throw new InvalidRequestException("draft_model", $"The draft model '{draftId}' is not a chat model.");
        var lease = await models.AcquireAsync(descriptor, d => new ChatModel(d, sessions), ct);
        try
        {
            var draft = lease.Value;
            if (!SameTokenizer(model, draft)) throw new InvalidRequestException("draft_model", $"The draft model '{draftId}' does not share the tokenizer of '{model.Id}'.");
            var tokens = s?.DraftTokens ?? _options.SpeculativeTokens;
            return ((() => new DraftModelSource(draft.Runner.HostCache, draft.VocabSize), tokens), lease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>Same ids for the same bytes: equal vocabulary sizes and every token's bytes equal.</summary>
    private static bool SameTokenizer(ChatModel a, ChatModel b) =>
        a.VocabSize == b.VocabSize && a.TokenIndex.Bytes.Zip(b.TokenIndex.Bytes).All(p => p.First.AsSpan().SequenceEqual(p.Second));

    /// <summary>Enter the model's queue (QueueFullException → 429); streaming enters before the response starts and passes the slot to RunAsync.</summary>
    public Task<IDisposable> EnterAsync(PreparedChat chat, CancellationToken ct) => queues.EnterAsync(chat.Model.Id, ct);

    /// <summary>Run a prepared job; deltas (per choice) go to onDelta as they are decoded. Enters the queue unless given a slot (which it then releases).</summary>
    public Task<GenerationSummary> RunAsync(PreparedChat chat, Func<TextDelta, CancellationToken, ValueTask>? onDelta, CancellationToken ct, IDisposable? slot = null)
    {
        var model = chat.Model;
        return GenerationRun.RunAsync(queues, metrics, log, model.Id, "chat", slot, (emit, token) =>
        {
            var output = chat.Job.Output;
            var promptLogprobs = output is { PromptLogprobs: true } ? ChatScore.Prompt(model, chat.Prompt.Ids, output.TopLogprobs ?? 0, token) : null;
            if (output is { ScoreOnly: true }) return ChatRun.ScoreOnly(model, chat, promptLogprobs ?? []);
            if (chat.Job.Preset == ChatPreset.SelfConsistency)
            {
                var (choice, t) = ChatRun.Vote(model, chat.Prompt.Ids, chat.Options, chat.Job.SelfConsistencySamples ?? _options.SelfConsistencySamples, token, chat.Run);
                emit(new TextDelta(0, choice.Text, choice.Logprobs));
                return new GenerationSummary(model.Id, [choice], t, 0, chat.Prompt.Context, promptLogprobs);
            }
            if (chat.Run.NewDraft is not null)
            {
                var (choice, t, stats) = ChatRun.RunSpeculative(model, chat.Prompt.Ids, chat.Options, emit, chat.Run, token);
                return new GenerationSummary(model.Id, [choice], t, 0, chat.Prompt.Context, promptLogprobs, stats);
            }
            var (choices, timings) = ChatRun.Run(model, chat.Prompt.Ids, chat.Options, chat.Job.N, emit, token, chat.Run);
            return new GenerationSummary(model.Id, choices, timings, 0, chat.Prompt.Context, promptLogprobs);
        }, onDelta, ct);
    }

    /// <summary>Prepare and run.</summary>
    public async Task<GenerationSummary> CompleteAsync(ChatJob job, Func<TextDelta, CancellationToken, ValueTask>? onDelta, CancellationToken ct)
    {
        using var prepared = await PrepareAsync(job, ct);
        return await RunAsync(prepared, onDelta, ct);
    }
}
