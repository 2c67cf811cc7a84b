namespace MultimodalHub.Contracts;

// Text-to-image (Stable Diffusion) API records: POST /v1/images/generations, /v1/images/jobs, GET /v1/schedulers.
// JSON is snake_case (HubJson); every field but prompt is optional and gets the model's default.

/// <summary>
/// Body of POST /v1/images/generations and POST /v1/images/jobs: OpenAI's image fields (prompt, n, size,
/// response_format, model) plus the Stable Diffusion ones. Unknown OpenAI fields (quality, style, user) are ignored.
/// </summary>
public sealed record ImageGenerationRequest
{
    /// <summary>What to draw. Required; at most Diffusion:MaxPromptChars characters (default 4000); tokens beyond the text encoder's length (tokenizer_config.json model_max_length, 77 for CLIP) are dropped, as diffusers does, and revised_prompt says what was kept.</summary>
    public string? Prompt { get; init; }

    /// <summary>Model id (GET /v1/models, kind "diffusion"); default: the first installed diffusion model.</summary>
    public string? Model { get; init; }

    /// <summary>Number of images, 1 to Diffusion:MaxImages (default 8); image i uses seed + i.</summary>
    public int? N { get; init; }

    /// <summary>"WIDTHxHEIGHT", multiples of the model's size multiple, sides Diffusion:MinSide to Diffusion:MaxSide, at most Diffusion:MaxPixels, e.g. "64x64"; default: the model's native size (unet sample_size x VAE factor).</summary>
    public string? Size { get; init; }

    /// <summary>Only "b64_json" is supported (the default); "url" is rejected with 400.</summary>
    public string? ResponseFormat { get; init; }

    /// <summary>What not to draw: the unconditional half of classifier-free guidance (default "").</summary>
    public string? NegativePrompt { get; init; }

    /// <summary>Denoising steps, 1 to Diffusion:MaxSteps (default limit 150; default: the model's own (1 for turbo models), else Diffusion:DefaultSteps = 20, 4 for the "lcm" scheduler).</summary>
    public int? Steps { get; init; }

    /// <summary>Classifier-free guidance scale, 0 to Diffusion:MaxGuidance (default limit 30; default: the model's own (0 for turbo models), else Diffusion:DefaultGuidance = 7.5); at most 1 runs the UNet on the prompt alone.</summary>
    public double? GuidanceScale { get; init; }

    /// <summary>A name from GET /v1/schedulers (ddim, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lcm, or an alias); default: the model's own (scheduler_config.json).</summary>
    public string? Scheduler { get; init; }

    /// <summary>0 .. 2^53-1; default: a random seed, reported back in the response.</summary>
    public long? Seed { get; init; }

    /// <summary>Img2img only: how much of the init image to repaint, 0-1 (default Diffusion:DefaultStrength = 0.75).</summary>
    public double? Strength { get; init; }

    /// <summary>Img2img: the start image as base64 (PNG/JPEG/WebP..., a data: URL prefix is accepted); resized to the output size.</summary>
    public string? InitImage { get; init; }

    /// <summary>Preview image every this many steps in job events (0 = none; default: about 5 previews per image).</summary>
    public int? PreviewEvery { get; init; }
}

/// <summary>One generated image, with the safety check's verdict (null when the check is off: Safety:Enabled false or no concepts).</summary>
public sealed record GeneratedImage(string B64Json, long Seed, string? RevisedPrompt = null, ImageSafety? Safety = null);

/// <summary>
/// The image safety check (as Stable Diffusion pipelines ship it): the image's CLIP embedding against each configured
/// concept text; a concept is hit when the cosine similarity reaches its threshold. checked is false when no CLIP
/// model could run the check (the image is then not flagged; the service logs a warning).
/// </summary>
public sealed record ImageSafety(bool Flagged, bool Checked, string? Model, IReadOnlyList<ConceptScore> Concepts);

/// <summary>One concept of the safety check: its text, its category (OpenAI moderation names), the image's similarity and the threshold.</summary>
public sealed record ConceptScore(string Concept, string Category, double Similarity, double Threshold, bool Flagged);

/// <summary>Every parameter that produced the images (enough to reproduce them exactly).</summary>
public sealed record ImageGenerationParameters(
    string Model,
    string Prompt,
    string NegativePrompt,
    int Width,
    int Height,
    int Steps,
    double GuidanceScale,
    string Scheduler,
    long Seed,
    IReadOnlyList<long> Seeds,
    int N,
    double? Strength,
    bool Img2img,
    IReadOnlyList<int> Timesteps,
    bool Masked = false);

/// <summary>Where the time went, in milliseconds (ORT runs summed over all images).</summary>
public sealed record ImageTimings(
    double QueueMs,
    double TextEncodeMs,
    double UnetMs,
    double VaeMs,
    double TotalMs,
    int UnetRuns,
    double SecondsPerImage,
    double SafetyMs = 0);

/// <summary>Response of POST /v1/images/generations (OpenAI's shape: created + data, plus parameters and timings).</summary>
public sealed record ImageGenerationResponse(
    long Created,
    IReadOnlyList<GeneratedImage> Data,
    ImageGenerationParameters Parameters,
    ImageTimings Timings);

public enum ImageJobStatus { Queued, Running, Succeeded, Failed, Cancelled }

/// <summary>Progress of a running job: step 1..total_steps of image 1..images.</summary>
public sealed record ImageJobProgress(
    int Image,
    int Images,
    int Step,
    int TotalSteps,
    double Fraction,
    double ElapsedSeconds,
    double? EtaSeconds);

/// <summary>GET /v1/images/jobs/{id} (and the 202 body of POST /v1/images/jobs). started_at/finished_at: unix seconds with milliseconds.</summary>
public sealed record ImageJobInfo(
    string Id,
    string Object,
    ImageJobStatus Status,
    string Model,
    long Created,
    int? Position,
    ImageJobProgress? Progress,
    ImageGenerationResponse? Result,
    string? Error,
    double? StartedAt = null,
    double? FinishedAt = null);

// Server-sent events of GET /v1/images/jobs/{id}/events: `event: <name>` + `data: <json>`, in this order:
// queued (position, repeated as it changes), started, progress (each step), preview (every preview_every steps),
// image (each finished image), then exactly one of completed | failed | cancelled, after which the stream ends.

/// <summary>event: queued — waiting for the model; position 1 = next.</summary>
public sealed record ImageJobQueuedEvent(string Id, int Position);

/// <summary>event: started.</summary>
public sealed record ImageJobStartedEvent(string Id, int Images, int TotalSteps);

/// <summary>event: progress — after each denoising step.</summary>
public sealed record ImageJobProgressEvent(string Id, ImageJobProgress Progress);

/// <summary>event: preview — an approximate picture of the current image (PNG, base64), cheap to make.</summary>
public sealed record ImageJobPreviewEvent(string Id, int Image, int Step, int Width, int Height, string B64Png);

/// <summary>event: image — one finished image of the batch.</summary>
public sealed record ImageJobImageEvent(string Id, int Image, GeneratedImage Data);

/// <summary>event: completed — the full result.</summary>
public sealed record ImageJobCompletedEvent(string Id, ImageGenerationResponse Result);

/// <summary>event: failed / cancelled.</summary>
public sealed record ImageJobEndedEvent(string Id, ImageJobStatus Status, string? Error);

/// <summary>One entry of GET /v1/schedulers.</summary>
public sealed record SchedulerInfo(string Name, string Description, IReadOnlyList<string> Aliases, int DefaultSteps);

public sealed record SchedulerList(string Object, IReadOnlyList<SchedulerInfo> Data);

/// <summary>GET /v1/images/jobs.</summary>
public sealed record ImageJobList(string Object, IReadOnlyList<ImageJobInfo> Data);
