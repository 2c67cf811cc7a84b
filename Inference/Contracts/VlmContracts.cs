namespace MultimodalHub.Contracts;

// Captioning and visual question answering (POST /v1/caption, POST /v1/vqa). Images are base64 (optionally a
// data: URL). With "stream": true the answer comes as SSE events of VlmStreamEvent, then "data: [DONE]".

/// <summary>The image, model, sampler and streaming fields /v1/caption and /v1/vqa share (no penalties or stop sequences).</summary>
public abstract record VlmRequest
{
    /// <summary>The image: base64 or a data: URL (PNG, JPEG, WebP, GIF, BMP).</summary>
    public string? Image { get; init; }
    public string? Model { get; init; }
    public int? MaxTokens { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public double? MinP { get; init; }
    public double? RepetitionPenalty { get; init; }
    public long? Seed { get; init; }
    public bool? Stream { get; init; }
}

/// <summary>POST /v1/caption body.</summary>
public sealed record CaptionRequest : VlmRequest
{
    /// <summary>The instruction (default "describe the image.").</summary>
    public string? Prompt { get; init; }
    /// <summary>Beam search width (1 = greedy/sampling).</summary>
    public int? NumBeams { get; init; }
    public double? LengthPenalty { get; init; }
}

/// <summary>One earlier exchange of a VQA conversation.</summary>
public sealed record VqaTurn(string Question, string Answer);

/// <summary>POST /v1/vqa body.</summary>
public sealed record VqaRequest : VlmRequest
{
    public string? Question { get; init; }
    /// <summary>Earlier questions and answers about the same image, oldest first.</summary>
    public IReadOnlyList<VqaTurn>? History { get; init; }
    public string? System { get; init; }
}

/// <summary>Answer of /v1/caption and /v1/vqa. CachedTokens: prompt tokens reused from the conversation's KV cache.</summary>
public sealed record VlmResponse(string Model, string Text, string FinishReason, CompletionUsage Usage, GenerationTimings Timings, string ImageHash);

/// <summary>One SSE event of a streamed caption/answer: deltas, then a final event with done = true, text, usage and timings.</summary>
public sealed record VlmStreamEvent(string? Delta, bool Done = false, string? Text = null, string? FinishReason = null,
    CompletionUsage? Usage = null, GenerationTimings? Timings = null, string? Model = null);
