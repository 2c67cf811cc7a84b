using System.Globalization;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Diffusion.Schedulers;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>A validated request with every default filled in: exactly what will run.</summary>
public sealed record ImagePlan(
    ModelDescriptor Model,
    string Prompt,
    string NegativePrompt,
    int Width,
    int Height,
    int Steps,
    double GuidanceScale,
    string Scheduler,
    long Seed,
    int N,
    double? Strength,
    RgbImage? InitImage,
    int PreviewEvery,
    float[]? Mask = null)
{
    public IEnumerable<long> Seeds => Enumerable.Range(0, N).Select(i => Seed + i);

    /// <summary>The parameters reported with the images: the plan, and the timesteps actually run.</summary>
    public ImageGenerationParameters ToParameters(IReadOnlyList<int> timesteps) =>
        new(Model.Id, Prompt, NegativePrompt, Width, Height, Steps, GuidanceScale, Scheduler, Seed, Seeds.ToList(), N, Strength,
            InitImage is not null, timesteps, Mask is not null);
}

/// <summary>
/// The start image of /v1/images/edits and /v1/images/variations: its bytes and the form field they came from, and for
/// edits an optional mask (OpenAI's: fully transparent pixels are repainted; the same size as the image).
/// </summary>
public sealed record ImageInput(byte[] Image, string Field = "image", byte[]? Mask = null, string MaskField = "mask");

/// <summary>
/// Checks every field of an <see cref="ImageGenerationRequest"/> (400 naming the field for anything out of range,
/// empty, too long or NaN) and resolves the defaults from the model (native size, scheduler) and the options.
/// </summary>
public static class ImageRequestValidation
{
    /// <summary>Largest seed: 2^53 - 1, so that JSON clients (JavaScript numbers) keep it exact.</summary>
    public const long MaxSeed = (1L << 53) - 1;

    /// <summary>Checks that need no model (done before queueing or loading anything).</summary>
    /// <param name="hasImage">An edit or variation: the start image comes from the form, not init_image.</param>
    /// <param name="promptRequired">False for variations, whose prompt may be empty (unconditional).</param>
    public static void CheckFields(ImageGenerationRequest r, DiffusionOptions o, bool hasImage = false, bool promptRequired = true)
    {
        if (r.Prompt is null) throw new InvalidRequestException("prompt", "prompt is required.");
        if (promptRequired && string.IsNullOrWhiteSpace(r.Prompt)) throw new InvalidRequestException("prompt", "prompt is required and must not be empty.");
        if (r.Prompt.Length > o.MaxPromptChars) throw new InvalidRequestException("prompt", $"prompt is {r.Prompt.Length} characters; at most {o.MaxPromptChars} are accepted (the text encoder reads 77 tokens).");
        if (r.NegativePrompt is { Length: var nl } && nl > o.MaxPromptChars) throw new InvalidRequestException("negative_prompt", $"negative_prompt is {nl} characters; at most {o.MaxPromptChars} are accepted.");
        if (r.ResponseFormat is { } f && f != "b64_json")
            throw new InvalidRequestException("response_format", f == "url"
                ? "response_format \"url\" is not supported: this server keeps no image files; use \"b64_json\" (the default)."
                : $"response_format must be \"b64_json\", not \"{f}\".");
        if (r.N is { } n && (n < 1 || n > o.MaxImages)) throw new InvalidRequestException("n", $"n must be between 1 and {o.MaxImages}, not {n}.");
        if (r.Steps is { } s && (s < 1 || s > o.MaxSteps)) throw new InvalidRequestException("steps", $"steps must be between 1 and {o.MaxSteps}, not {s}.");
        if (r.GuidanceScale is { } g && (!double.IsFinite(g) || g < 0 || g > o.MaxGuidance))
            throw new InvalidRequestException("guidance_scale", $"guidance_scale must be a number between 0 and {o.MaxGuidance}.");
        if (r.Scheduler is { } sch && SchedulerCatalog.Normalize(sch) is null)
            throw new InvalidRequestException("scheduler", $"Unknown scheduler '{sch}'. Known: {string.Join(", ", SchedulerCatalog.All.Select(e => e.Name))} (GET /v1/schedulers).");
        if (r.Seed is { } seed && (seed < 0 || seed > MaxSeed - o.MaxImages))
            throw new InvalidRequestException("seed", $"seed must be between 0 and {MaxSeed - o.MaxImages}.");
        if (r.Strength is { } st && (!double.IsFinite(st) || st < 0 || st > 1)) throw new InvalidRequestException("strength", "strength must be a number between 0 and 1.");
        if (r.Strength is not null && string.IsNullOrEmpty(r.InitImage) && !hasImage) throw new InvalidRequestException("strength", "strength applies only to img2img: give init_image too.");
        if (r.PreviewEvery is { } pe && (pe < 0 || pe > o.MaxSteps)) throw new InvalidRequestException("preview_every", $"preview_every must be between 0 and {o.MaxSteps}.");
        if (r.Size is { } size) ParseSize(size, o);
    }

    /// <summary>Everything, with the model's defaults: the plan to run. <see cref="CheckFields"/> must have passed.</summary>
    public static ImagePlan Plan(ImageGenerationRequest r, ModelDescriptor model, DiffusionModel loaded, DiffusionOptions o, ImageLimits limits, ImageInput? input = null)
    {
        var (width, height) = r.Size is { } size && !size.Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? ParseSize(size, o)
            : input is not null ? SizeOf(input, loaded, o, limits) : (loaded.DefaultWidth, loaded.DefaultHeight);
        if (width % loaded.SizeMultiple != 0 || height % loaded.SizeMultiple != 0)
            throw new InvalidRequestException("size", $"Model '{model.Id}' needs width and height in multiples of {loaded.SizeMultiple} ({width}x{height} is not).");
        var scheduler = r.Scheduler is { } s ? SchedulerCatalog.Normalize(s)! : loaded.DefaultScheduler;
        var steps = r.Steps ?? loaded.DefaultSteps ?? (scheduler == "lcm" ? SchedulerCatalog.Get("lcm").DefaultSteps : o.DefaultSteps);
        if (scheduler == "lcm" && steps > loaded.Scheduler.OriginalInferenceSteps)
            throw new InvalidRequestException("steps", $"the lcm scheduler takes at most {loaded.Scheduler.OriginalInferenceSteps} steps.");
        var guidance = r.GuidanceScale ?? loaded.DefaultGuidance ?? o.DefaultGuidance;
        var seed = r.Seed ?? Random.Shared.NextInt64(0, 1L << 32);
        RgbImage? init = null;
        double? strength = null;
        float[]? mask = null;
        if (input is not null)
        {
            if (loaded.VaeEncoder is null) throw new InvalidRequestException(input.Field, $"Model '{model.Id}' has no vae_encoder, so it cannot edit images.");
            init = DiffusionImages.DecodeResized(input.Image, width, height, limits, input.Field);
            if (input.Mask is { } maskBytes) mask = DiffusionImages.DecodeMask(input.Image, maskBytes, width, height, limits, input.Field, input.MaskField);
            strength = r.Strength ?? (mask is null ? o.DefaultStrength : o.DefaultInpaintStrength);
        }
        else if (!string.IsNullOrEmpty(r.InitImage))
        {
            if (loaded.VaeEncoder is null) throw new InvalidRequestException("init_image", $"Model '{model.Id}' has no vae_encoder, so it cannot do img2img.");
            init = DiffusionImages.DecodeResized(ImagePayload.FromBase64(r.InitImage, "init_image", limits), width, height, limits, "init_image");
            strength = r.Strength ?? o.DefaultStrength;
        }
        var previewEvery = r.PreviewEvery ?? Math.Max(1, (int)Math.Ceiling(steps / (double)Math.Max(1, o.DefaultPreviews)));
        return new ImagePlan(model, r.Prompt!, r.NegativePrompt ?? "", width, height, steps, guidance, scheduler, seed,
            r.N ?? 1, strength, init, previewEvery, mask);
    }

    /// <summary>An edit's default size: the image's own when the model can make it, else the model's native size.</summary>
    private static (int Width, int Height) SizeOf(ImageInput input, DiffusionModel loaded, DiffusionOptions o, ImageLimits limits)
    {
        var header = ImageCodec.ReadHeader(input.Image, limits, input.Field);
        var fits = header.Width % loaded.SizeMultiple == 0 && header.Height % loaded.SizeMultiple == 0
            && header.Width >= o.MinSide && header.Height >= o.MinSide && header.Width <= o.MaxSide && header.Height <= o.MaxSide
            && (long)header.Width * header.Height <= o.MaxPixels;
        return fits ? (header.Width, header.Height) : (loaded.DefaultWidth, loaded.DefaultHeight);
    }

    public static (int Width, int Height) ParseSize(string size, DiffusionOptions o)
    {
        if (size.Equals("auto", StringComparison.OrdinalIgnoreCase)) return (0, 0);
        var parts = size.Trim().ToLowerInvariant().Split('x', '×');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var w)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var h))
            throw new InvalidRequestException("size", $"size must be \"WIDTHxHEIGHT\" (e.g. \"64x64\"), not \"{size}\".");
        if (w % 8 != 0 || h % 8 != 0) throw new InvalidRequestException("size", $"width and height must be multiples of 8 ({w}x{h} is not).");
        if (w < o.MinSide || h < o.MinSide || w > o.MaxSide || h > o.MaxSide)
            throw new InvalidRequestException("size", $"width and height must be between {o.MinSide} and {o.MaxSide} ({w}x{h} is not).");
        if ((long)w * h > o.MaxPixels) throw new InvalidRequestException("size", $"{w}x{h} is more than the {o.MaxPixels} pixels allowed.");
        return (w, h);
    }
}
