using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>POST /v1/classify (multipart or JSON), and CLIP's side of POST /v1/embeddings (texts or images; the route itself is <see cref="Embedding.EmbeddingEndpoints"/>).</summary>
public static class ClipEndpoints
{
    private static readonly JsonSerializerOptions Json = HubJson.Create();

    public static IEndpointRouteBuilder Map(IEndpointRouteBuilder app)
    {
        var limit = new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(
            app.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<ClipOptions>>().Value.MaxRequestBytes);
        app.MapPost("/v1/classify", Classify).WithTags("clip").DisableAntiforgery().WithMetadata(limit)
            .WithSummary("Zero-shot image classification: ranked labels per image, the similarity matrix, timings.");
        return app;
    }

    internal static async Task<Ok<ClassifyResponse>> Classify(HttpRequest request, ClipEngine engine, IOptions<ImageLimits> limits, CancellationToken ct)
    {
        var input = request.HasFormContentType
            ? await FromFormAsync(request, limits.Value, ct)
            : FromJson(await ReadJsonAsync<ClassifyRequest>(request, ct), limits.Value);
        return TypedResults.Ok(await engine.ClassifyAsync(input, ct));
    }

    /// <summary>CLIP vectors for an embeddings request: images (input_type "image", or "images") or texts.</summary>
    internal static async Task<ClipEmbeddings> EmbedAsync(EmbeddingsRequest body, ClipEngine engine, ImageLimits limits, CancellationToken ct)
    {
        var hasInput = body.Input is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) };
        ClipEmbeddings result;
        if (body.Images is { Count: > 0 })
        {
            if (hasInput) throw new InvalidRequestException("images", "Give either \"input\" (texts, or images with input_type \"image\") or \"images\", not both.");
            result = await engine.EmbedImagesAsync(body.Model, ImagesFromBase64(body.Images, "images", limits), ct);
        }
        else if (string.Equals(body.InputType, "image", StringComparison.OrdinalIgnoreCase))
        {
            result = await engine.EmbedImagesAsync(body.Model, ImagesFromBase64(Strings(body.Input, "input"), "input", limits), ct, "input");
        }
        else
        {
            result = await engine.EmbedTextsAsync(body.Model, Strings(body.Input, "input"), ct);
        }
        var dim = result.Vectors[0].Length;
        if (body.Dimensions is { } d && d != dim)
            throw new InvalidRequestException("dimensions", $"Model '{result.Model}' gives {dim}-dimensional vectors; dimensions must be {dim} or left out.");
        return result;
    }

    private static ClipClassifyInput FromJson(ClassifyRequest body, ImageLimits limits) =>
        new(ImagesFromBase64(body.Images ?? [], "images", limits), body.Labels, body.Templates, body.TopK, body.Model);

    private static async Task<ClipClassifyInput> FromFormAsync(HttpRequest request, ImageLimits limits, CancellationToken ct)
    {
        IFormCollection form;
        try { form = await request.ReadFormAsync(ct); }
        catch (InvalidDataException e) { throw new InvalidRequestException("body", $"Malformed multipart form: {e.Message}"); }
        var images = new List<ClipImageInput>();
        foreach (var file in form.Files)
        {
            if (file.Name is not ("image" or "images" or "images[]" or "file"))
                throw new InvalidRequestException(file.Name, $"Unexpected file field '{file.Name}'; send images as \"image\" or \"images\".");
            var field = $"images[{images.Count}]";
            using var stream = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
            await file.CopyToAsync(stream, ct);
            images.Add(new ClipImageInput(stream.ToArray(), field, file.FileName));
        }
        // Base64 images may also come as text fields.
        foreach (var value in form["images"].Concat(form["image"]))
            if (!string.IsNullOrWhiteSpace(value)) images.Add(new ClipImageInput(ImagePayload.FromBase64(value, $"images[{images.Count}]", limits), $"images[{images.Count}]"));

        var labels = SplitLabels(form["labels"].Concat(form["label"]).OfType<string>().ToList());
        var templates = SplitTemplates(form["templates"].Concat(form["template"]).OfType<string>().ToList());
        int? topK = null;
        if (form["top_k"].FirstOrDefault() is { Length: > 0 } k)
            topK = int.TryParse(k, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw new InvalidRequestException("top_k", $"top_k must be an integer, not '{k}'.");
        var model = form["model"].FirstOrDefault();
        return new ClipClassifyInput(images, labels, templates, topK, string.IsNullOrWhiteSpace(model) ? null : model);
    }

    /// <summary>Repeated fields are one label each; a single field is a JSON array, or labels separated by commas or new lines.</summary>
    public static IReadOnlyList<string> SplitLabels(IReadOnlyList<string> values)
    {
        if (values.Count != 1) return values;
        var one = values[0].Trim();
        if (one.StartsWith('['))
        {
            try { return JsonSerializer.Deserialize<string[]>(one) ?? []; }
            catch (JsonException e) { throw new InvalidRequestException("labels", $"labels looks like a JSON array but is not valid: {e.Message}"); }
        }
        return one.Length == 0 ? [""] : one.Split([',', '\n'], StringSplitOptions.TrimEntries).Where((l, i) => l.Length > 0 || i == 0).ToArray();
    }

    /// <summary>Repeated fields are one template each; a single field may hold several, one per line.</summary>
    public static IReadOnlyList<string> SplitTemplates(IReadOnlyList<string> values) =>
        values.Count == 1 ? values[0].Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : values;

    private static List<ClipImageInput> ImagesFromBase64(IReadOnlyList<string> values, string field, ImageLimits limits) =>
        values.Select((v, i) => new ClipImageInput(ImagePayload.FromBase64(v, $"{field}[{i}]", limits), $"{field}[{i}]")).ToList();

    internal static List<string> Strings(JsonElement? input, string field)
    {
        switch (input)
        {
            case null or { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined }:
                throw new InvalidRequestException(field, $"{field} is required: a string or an array of strings.");
            case { ValueKind: JsonValueKind.String } s:
                return [s.GetString()!];
            case { ValueKind: JsonValueKind.Array } a:
                var list = new List<string>();
                var i = 0;
                foreach (var item in a.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                        throw new InvalidRequestException($"{field}[{i}]", $"{field}[{i}] must be a string (token-id arrays are not accepted).");
                    list.Add(item.GetString()!);
                    i++;
                }
                if (list.Count == 0) throw new InvalidRequestException(field, $"{field} is an empty array.");
                return list;
            default:
                throw new InvalidRequestException(field, $"{field} must be a string or an array of strings.");
        }
    }

    internal static async Task<T> ReadJsonAsync<T>(HttpRequest request, CancellationToken ct) where T : class
    {
        if (!request.HasJsonContentType())
            throw new InvalidRequestException("body", "Send the request as application/json (or multipart/form-data for /v1/classify).");
        return await request.ReadFromJsonAsync<T>(Json, ct) ?? throw new InvalidRequestException("body", "The request body is empty.");
    }
}
