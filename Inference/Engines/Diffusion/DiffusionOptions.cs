namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Configuration section "Diffusion": request limits and the job store.</summary>
public sealed class DiffusionOptions
{
    public const string Section = "Diffusion";

    /// <summary>Smallest and largest width/height (multiples of the VAE factor, 8).</summary>
    public int MinSide { get; set; } = 64;
    public int MaxSide { get; set; } = 2048;

    /// <summary>Largest width x height per image.</summary>
    public long MaxPixels { get; set; } = 1024 * 1024;

    public int MaxSteps { get; set; } = 150;
    public int MaxImages { get; set; } = 8;
    public double MaxGuidance { get; set; } = 30;

    /// <summary>Prompts longer than this are rejected (the text encoder keeps 77 tokens anyway).</summary>
    public int MaxPromptChars { get; set; } = 4000;

    /// <summary>Used when neither the request nor the model (<see cref="DiffusionModel.DefaultSteps"/>: turbo models run 1 step without guidance) says.</summary>
    public int DefaultSteps { get; set; } = 20;
    public double DefaultGuidance { get; set; } = 7.5;
    public double DefaultStrength { get; set; } = 0.75;

    /// <summary>/v1/images/edits with a mask: the strength when the request gives none (1 = the masked part is repainted from noise).</summary>
    public double DefaultInpaintStrength { get; set; } = 1.0;

    /// <summary>/v1/images/variations: how much of the image is repainted (img2img strength) when the request gives none.</summary>
    public double VariationStrength { get; set; } = 0.6;

    /// <summary>/v1/images/variations: the prompt when no vision-language model is installed to caption the image (empty = unconditional).</summary>
    public string VariationFallbackPrompt { get; set; } = "";

    /// <summary>
    /// Run the UNet through ONNX Runtime IO binding: latents, timestep, text embeddings and output stay in OrtValues made
    /// once per image (CPU allocator) instead of fresh ones every step. Same results; see the README's benchmark.
    /// </summary>
    public bool UnetIoBinding { get; set; } = true;

    /// <summary>Previews per image in job events when the request does not say (about this many, evenly spaced).</summary>
    public int DefaultPreviews { get; set; } = 5;

    /// <summary>Finished jobs are kept (GET-able) this long, and at most <see cref="MaxJobs"/> jobs are kept in all.</summary>
    public TimeSpan JobRetention { get; set; } = TimeSpan.FromHours(1);
    public int MaxJobs { get; set; } = 200;

    /// <summary>Finished jobs' images (base64, as held in memory) are kept up to this many bytes in all, oldest dropped first.</summary>
    public long MaxRetainedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>On shutdown, how long to wait for cancelled jobs to stop.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
