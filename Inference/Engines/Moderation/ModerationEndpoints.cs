using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Moderation;

/// <summary>
/// POST /v1/moderations: JSON in OpenAI's shape (input: a string, strings, or text/image_url parts with data: URLs),
/// or multipart with "input" text fields and "image" files (one result for them all).
/// </summary>
public static class ModerationEndpoints
{
    private static readonly JsonSerializerOptions Json = HubJson.Create();

    public static IEndpointRouteBuilder MapModerationEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/moderations", Moderate).WithTags("moderation").DisableAntiforgery()
            .WithSummary("Classify texts and images as OpenAI's moderation endpoint does (rules, the chat model's classification prompt, the CLIP safety concepts).");
        return app;
    }

    internal static async Task<Ok<ModerationResponse>> Moderate(HttpRequest http, ModerationService service, IOptions<ModerationOptions> options,
        IOptions<ImageLimits> limits, CancellationToken ct)
    {
        var (model, inputs) = http.HasFormContentType
            ? await FromFormAsync(http, options.Value, limits.Value, ct)
            : FromJson(await ReadAsync(http, ct), options.Value, limits.Value);
        var results = new List<ModerationResult>();
        foreach (var input in inputs) results.Add(await service.JudgeAsync(input, ct));
        return TypedResults.Ok(new ModerationResponse("modr-" + Guid.NewGuid().ToString("N"), model ?? "hub-moderation-latest", results));
    }

    private static (string? Model, IReadOnlyList<ModerationInput> Inputs) FromJson(ModerationRequest body, ModerationOptions o, ImageLimits limits)
    {
        if (body.Input is not { } input || input.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            throw new InvalidRequestException("input", "input is required: a string, an array of strings, or an array of text and image_url parts.");
        if (input.ValueKind == JsonValueKind.String) return (body.Model, [new ModerationInput([Text(input.GetString()!, "input", o)], [])]);
        if (input.ValueKind != JsonValueKind.Array)
            throw new InvalidRequestException("input", "input must be a string, an array of strings, or an array of text and image_url parts.");
        var items = input.EnumerateArray().ToList();
        if (items.Count == 0) throw new InvalidRequestException("input", "input must not be empty.");
        if (items.Count > o.MaxInputs) throw new InvalidRequestException("input", $"{items.Count} inputs is too many; the limit is {o.MaxInputs} (Moderation:MaxInputs).");
        if (items.All(i => i.ValueKind == JsonValueKind.String))
            return (body.Model, items.Select((s, i) => new ModerationInput([Text(s.GetString()!, $"input[{i}]", o)], [])).ToList());
        // Parts: judged together, one result.
        var texts = new List<string>();
        var images = new List<RgbImage>();
        for (var i = 0; i < items.Count; i++)
        {
            var field = $"input[{i}]";
            var part = items[i];
            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            switch (type)
            {
                case "text" when part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String:
                    texts.Add(Text(text.GetString()!, $"{field}.text", o));
                    break;
                case "image_url" when part.TryGetProperty("image_url", out var image) && image.ValueKind == JsonValueKind.Object
                    && image.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String:
                    images.Add(Image(url.GetString()!, $"{field}.image_url.url", limits));
                    break;
                default:
                    throw new InvalidRequestException(field, $"{field} must be {{\"type\":\"text\",\"text\":...}} or {{\"type\":\"image_url\",\"image_url\":{{\"url\":\"data:...\"}}}} (or every item a string).");
            }
        }
        return (body.Model, [new ModerationInput(texts, images)]);
    }

    private static async Task<(string? Model, IReadOnlyList<ModerationInput> Inputs)> FromFormAsync(HttpRequest http, ModerationOptions o, ImageLimits limits, CancellationToken ct)
    {
        IFormCollection form;
        try { form = await http.ReadFormAsync(ct); }
        catch (InvalidDataException e) { throw new InvalidRequestException("body", $"Malformed multipart form: {e.Message}"); }
        var texts = form["input"].Select((t, i) => Text(t ?? "", $"input[{i}]", o)).ToList();
        var images = new List<RgbImage>();
        foreach (var file in form.Files)
        {
            var field = $"image[{images.Count}]";
            if (file.Name is not ("image" or "image[]" or "images")) throw new InvalidRequestException(file.Name, $"Unexpected file field '{file.Name}'; send images as \"image\".");
            using var stream = new MemoryStream();
            await file.CopyToAsync(stream, ct);
            images.Add(ImageCodec.Decode(stream.ToArray(), limits, field));
        }
        if (texts.Count == 0 && images.Count == 0) throw new InvalidRequestException("input", "Send \"input\" text fields or \"image\" files.");
        if (texts.Count + images.Count > o.MaxInputs) throw new InvalidRequestException("input", $"Too many inputs; the limit is {o.MaxInputs} (Moderation:MaxInputs).");
        return (form["model"].FirstOrDefault(), [new ModerationInput(texts, images)]);
    }

    private static string Text(string text, string field, ModerationOptions o) =>
        text.Length > o.MaxInputChars ? throw new InvalidRequestException(field, $"The text is {text.Length} characters; the limit is {o.MaxInputChars} (Moderation:MaxInputChars).") : text;

    /// <summary>A data: URL (or bare base64) image; http(s) URLs are refused, the service fetches nothing.</summary>
    private static RgbImage Image(string url, string field, ImageLimits limits)
    {
        if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new InvalidRequestException(field, "Image URLs are not fetched: send the image as a data: URL (data:image/png;base64,...).");
        return ImageCodec.Decode(ImagePayload.FromBase64(url, field, limits), limits, field);
    }

    private static async Task<ModerationRequest> ReadAsync(HttpRequest http, CancellationToken ct)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<ModerationRequest>(http.Body, Json, ct)
                ?? throw new InvalidRequestException("body", "The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            var field = e.Path is { Length: > 2 } p ? p.TrimStart('$', '.') : "body";
            throw new InvalidRequestException(field, $"Malformed JSON for '{field}': {e.Message}");
        }
    }
}
