using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// POST /v1/images/edits and POST /v1/images/variations in OpenAI's multipart shape (image, mask, prompt, model, n,
/// size, response_format), run as img2img on the diffusion model; the hub's extra fields (negative_prompt, steps,
/// guidance_scale, scheduler, seed, strength) are accepted as form fields too. Answers as /v1/images/generations.
/// </summary>
public static class ImageEditEndpoints
{
    public static IEndpointRouteBuilder MapImageEditEndpoints(this IEndpointRouteBuilder app)
    {
        var images = app.MapGroup("/v1/images").WithTags("images");
        images.MapPost("/edits", Edit).DisableAntiforgery()
            .WithSummary("Edit an image (img2img from the uploaded image; with a mask, only its transparent part is repainted).");
        images.MapPost("/variations", Variation).DisableAntiforgery()
            .WithSummary("Variations of an image: img2img from it with its caption (by the installed vision-language model) as the prompt.");
        return app;
    }

    internal static async Task<Ok<ImageGenerationResponse>> Edit(HttpRequest http, DiffusionService service, CancellationToken ct)
    {
        var form = await ReadFormAsync(http, ct);
        var input = new ImageInput(await FileAsync(form, "image", required: true, ct) ?? [], "image", await FileAsync(form, "mask", required: false, ct));
        var request = Fields(form) with { Prompt = form["prompt"].FirstOrDefault() ?? "" };
        var plan = await service.PlanAsync(request, ct, input);
        return TypedResults.Ok(await service.GenerateAsync(plan, ct));
    }

    internal static async Task<Ok<ImageGenerationResponse>> Variation(HttpRequest http, DiffusionService service, VlmEngine vlm, ModelRegistry registry,
        Microsoft.Extensions.Options.IOptions<ImageLimits> limits, CancellationToken ct)
    {
        var form = await ReadFormAsync(http, ct);
        if (form.Files.GetFile("mask") is not null) throw new InvalidRequestException("mask", "Variations take no mask; use /v1/images/edits.");
        var image = await FileAsync(form, "image", required: true, ct) ?? [];
        var request = Fields(form);
        // Decode first, so a corrupt image is a 400 naming "image" before any model runs.
        var decoded = ImageCodec.Decode(image, limits.Value, "image");
        var prompt = await CaptionAsync(decoded, vlm, registry, ct) ?? service.Options.VariationFallbackPrompt;
        request = request with { Prompt = prompt, Strength = request.Strength ?? service.Options.VariationStrength };
        var plan = await service.PlanAsync(request, ct, new ImageInput(image), promptRequired: false);
        var result = await service.GenerateAsync(plan, ct);
        return TypedResults.Ok(result with { Data = result.Data.Select(d => d with { RevisedPrompt = d.RevisedPrompt ?? prompt }).ToList() });
    }

    /// <summary>The greedy caption of the first installed vision-language model, or null when there is none.</summary>
    private static async Task<string?> CaptionAsync(RgbImage image, VlmEngine vlm, ModelRegistry registry, CancellationToken ct)
    {
        if (!registry.Models.Any(m => m.Kind == ModelKind.Vlm && m.IsValid)) return null;
        var prompt = vlm.Options.CaptionPrompt;
        var job = new VlmJob(null, VlmEngine.CaptionMessages(prompt), [image], new SamplingRequest(Temperature: 0));
        var (summary, _) = await vlm.CompleteAsync(job, null, ct);
        var caption = summary.Choices[0].Text.Trim();
        return caption.Length > 0 ? caption : null;
    }

    private static async Task<IFormCollection> ReadFormAsync(HttpRequest http, CancellationToken ct)
    {
        if (!http.HasFormContentType) throw new InvalidRequestException("body", "Send multipart/form-data with the image as the \"image\" file field.");
        try { return await http.ReadFormAsync(ct); }
        catch (InvalidDataException e) { throw new InvalidRequestException("body", $"Malformed multipart form: {e.Message}"); }
    }

    /// <summary>A file field's bytes ("image" also as "image[]", the first of several).</summary>
    private static async Task<byte[]?> FileAsync(IFormCollection form, string name, bool required, CancellationToken ct)
    {
        var file = form.Files.GetFile(name) ?? form.Files.GetFile(name + "[]");
        if (file is null)
        {
            if (required) throw new InvalidRequestException(name, $"{name} is required: send it as a file field of the multipart form.");
            return null;
        }
        using var stream = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
        await file.CopyToAsync(stream, ct);
        if (stream.Length == 0) throw new InvalidRequestException(name, $"{name} is empty.");
        return stream.ToArray();
    }

    /// <summary>The form's generation fields (numbers checked here, ranges by <see cref="ImageRequestValidation"/>).</summary>
    private static ImageGenerationRequest Fields(IFormCollection form) => new()
    {
        Model = Text(form, "model"),
        N = Int(form, "n"),
        Size = Text(form, "size"),
        ResponseFormat = Text(form, "response_format"),
        NegativePrompt = Text(form, "negative_prompt"),
        Steps = Int(form, "steps"),
        GuidanceScale = Number(form, "guidance_scale"),
        Scheduler = Text(form, "scheduler"),
        Seed = Text(form, "seed") is { } s
            ? long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var seed) ? seed : throw new InvalidRequestException("seed", $"seed must be a non-negative integer, not \"{s}\".")
            : null,
        Strength = Number(form, "strength"),
    };

    private static string? Text(IFormCollection form, string name) => form[name].FirstOrDefault() is { Length: > 0 } v ? v : null;

    private static int? Int(IFormCollection form, string name) => Text(form, name) is { } v
        ? int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? i : throw new InvalidRequestException(name, $"{name} must be an integer, not \"{v}\".")
        : null;

    private static double? Number(IFormCollection form, string name) => Text(form, name) is { } v
        ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw new InvalidRequestException(name, $"{name} must be a number, not \"{v}\".")
        : null;
}
