using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>Configuration section "Vlm".</summary>
public sealed class VlmOptions
{
    public const string Section = "Vlm";

    /// <summary>Conversations whose KV cache is kept per model for follow-up questions.</summary>
    public int ConversationCacheSize { get; set; } = 8;

    /// <summary>Images whose features are kept per model.</summary>
    public int FeatureCacheSize { get; set; } = 32;

    /// <summary>Largest num_beams accepted.</summary>
    public int MaxBeams { get; set; } = 8;

    /// <summary>The instruction of /v1/caption when none is given.</summary>
    public string CaptionPrompt { get; set; } = "describe the image.";
}

/// <summary>A VLM job: a conversation whose image parts take the images in order, and the decoding settings.</summary>
public sealed record VlmJob(string? Model, IReadOnlyList<ChatMessage> Messages, IReadOnlyList<RgbImage> Images, SamplingRequest Sampling,
    int NumBeams = 1, double LengthPenalty = 1.0, string ModelField = "model");

/// <summary>A VLM job ready to run: model loaded, prompt rendered, expanded and checked against the context window, images hashed.</summary>
public sealed class PreparedVlm(ModelLease<VlmModel> lease, VlmPromptIds prompt, VlmDecoding decoding, VlmJob job, IReadOnlyList<string> imageHashes) : IDisposable
{
    public VlmModel Model => lease.Value;
    public VlmPromptIds Prompt { get; } = prompt;
    public VlmDecoding Decoding { get; } = decoding;
    public VlmJob Job { get; } = job;

    /// <summary>Each image's hash (its feature-cache key), in order.</summary>
    public IReadOnlyList<string> ImageHashes { get; } = imageHashes;

    /// <summary>The images' hashes joined: the conversation cache's key.</summary>
    public string ImagesKey { get; } = string.Join(",", imageHashes);

    public void Dispose() => lease.Dispose();
}

/// <summary>The VLM engine: captions and answers about images, image features cached per image, conversation KV caches kept for follow-ups.</summary>
public sealed class VlmEngine(ModelRegistry registry, LoadedModels models, OrtSessionFactory sessions, ModelQueues queues, HubMetrics metrics,
    IOptions<VlmOptions> options, ILogger<VlmEngine> log)
{
    private readonly VlmOptions _options = options.Value;

    public VlmOptions Options => _options;

    /// <summary>The loaded model for a descriptor (loads it on first use).</summary>
    public Task<ModelLease<VlmModel>> AcquireAsync(ModelDescriptor descriptor, CancellationToken ct) =>
        models.AcquireAsync(descriptor, d => new VlmModel(d, sessions.Create, _options.ConversationCacheSize, _options.FeatureCacheSize), ct);

    public async Task<PreparedVlm> PrepareAsync(VlmJob job, CancellationToken ct)
    {
        if (job.NumBeams < 1 || job.NumBeams > _options.MaxBeams) throw new InvalidRequestException("num_beams", $"num_beams must be between 1 and {_options.MaxBeams}.");
        if (double.IsNaN(job.LengthPenalty) || job.LengthPenalty < -10 || job.LengthPenalty > 10)
            throw new InvalidRequestException("length_penalty", "length_penalty must be between -10 and 10.");
        if (job.Messages.Count == 0) throw new InvalidRequestException("messages", "messages must not be empty.");
        var descriptor = registry.Resolve(job.Model, ModelKind.Vlm, job.ModelField);
        var lease = await AcquireAsync(descriptor, ct);
        try
        {
            var model = lease.Value;
            var window = model.Spec.MaxPositions;
            var sampling = SamplingOptions.Resolve(model.Defaults, job.Sampling, 64, window);
            var prompt = VlmPrompt.Build(model, job.Messages, job.Images);
            if (prompt.ExpandedIds.Count + sampling.MaxNewTokens > window)
                throw new InvalidRequestException("messages", $"The prompt is {prompt.ExpandedIds.Count} tokens (images expanded); with {job.Sampling.MaxTokensField} {sampling.MaxNewTokens} it exceeds the context window of {window} tokens.");
            // Hashed here, before the job takes its place in the model's queue.
            var hashes = job.Images.Select(VlmPreprocess.Hash).ToArray();
            return new PreparedVlm(lease, prompt, new VlmDecoding(sampling, job.NumBeams, job.LengthPenalty), job, hashes);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>Enter the model's queue (QueueFullException → 429); streaming enters before the response starts and passes the slot to RunAsync.</summary>
    public Task<IDisposable> EnterAsync(PreparedVlm vlm, CancellationToken ct) => queues.EnterAsync(vlm.Model.Id, ct);

    /// <summary>Run a prepared job. Enters the queue unless given a slot (which it then releases).</summary>
    public async Task<(GenerationSummary Summary, string ImagesKey)> RunAsync(PreparedVlm vlm, Func<TextDelta, CancellationToken, ValueTask>? onDelta, CancellationToken ct,
        IDisposable? slot = null)
    {
        var model = vlm.Model;
        var summary = await GenerationRun.RunAsync(queues, metrics, log, model.Id, "vlm", slot, (emit, token) =>
        {
            var features = vlm.Job.Images.Select((image, i) => model.Features.GetOrAdd(vlm.ImageHashes[i], () =>
            {
                token.ThrowIfCancellationRequested();
                return VlmEncode.ImageFeatures(model, VlmPreprocess.Pixels(model, image), token);
            })).ToArray();
            var (choice, timings, cached) = VlmRun.Run(model, vlm.Prompt, features, vlm.ImagesKey, vlm.Decoding, model.Conversations, emit, token);
            return new GenerationSummary(model.Id, [choice], timings, cached);
        }, onDelta, ct);
        return (summary, vlm.ImagesKey);
    }

    public async Task<(GenerationSummary Summary, string ImagesKey)> CompleteAsync(VlmJob job, Func<TextDelta, CancellationToken, ValueTask>? onDelta, CancellationToken ct)
    {
        using var prepared = await PrepareAsync(job, ct);
        return await RunAsync(prepared, onDelta, ct);
    }

    /// <summary>The messages of a caption request: one user turn with the image and the instruction.</summary>
    public static IReadOnlyList<ChatMessage> CaptionMessages(string prompt) =>
        [new ChatMessage("user", prompt, [ChatPart.Image(), ChatPart.OfText(prompt)])];

    /// <summary>The messages of a VQA request: the image in the first user turn, then the history, then the question.</summary>
    public static IReadOnlyList<ChatMessage> VqaMessages(string question, IReadOnlyList<VqaTurn> history, string? system)
    {
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrWhiteSpace(system)) messages.Add(new ChatMessage("system", system));
        var turns = history.Select(h => (h.Question, (string?)h.Answer)).Append((question, null)).ToList();
        for (var i = 0; i < turns.Count; i++)
        {
            var q = turns[i].Item1;
            messages.Add(i == 0 ? new ChatMessage("user", q, [ChatPart.Image(), ChatPart.OfText(q)]) : new ChatMessage("user", q));
            if (turns[i].Item2 is { } a) messages.Add(new ChatMessage("assistant", a));
        }
        return messages;
    }
}
