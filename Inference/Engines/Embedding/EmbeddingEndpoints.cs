using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>
/// POST /v1/embeddings, routed by the model's kind: a sentence-embedding model embeds texts; a CLIP model embeds texts
/// or images. With no model named, images and texts go to the first CLIP model, as they always have; texts go to the
/// first sentence-embedding model only when no CLIP model is installed.
/// </summary>
public static class EmbeddingEndpoints
{
    public static IEndpointRouteBuilder Map(IEndpointRouteBuilder app)
    {
        var limit = new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(app.ServiceProvider.GetRequiredService<IOptions<ClipOptions>>().Value.MaxRequestBytes);
        app.MapPost("/v1/embeddings", Embeddings).WithTags("embeddings").WithMetadata(limit)
            .WithSummary("OpenAI-style embeddings: texts with a sentence-embedding model, or texts/images (input_type \"image\" or \"images\") with CLIP.");
        return app;
    }

    internal static async Task<Ok<EmbeddingsResponse>> Embeddings(HttpRequest request, ModelRegistry registry, EmbeddingEngine engine, ClipEngine clip,
        IOptions<ImageLimits> limits, CancellationToken ct)
    {
        var body = await ClipEndpoints.ReadJsonAsync<EmbeddingsRequest>(request, ct);
        var asBase64 = body.EncodingFormat?.ToLowerInvariant() switch
        {
            null or "float" => false,
            "base64" => true,
            _ => throw new InvalidRequestException("encoding_format", $"encoding_format must be \"float\" or \"base64\", not \"{body.EncodingFormat}\"."),
        };
        var inputType = body.InputType?.ToLowerInvariant();
        if (inputType is not (null or "text" or "query" or "document" or "image"))
            throw new InvalidRequestException("input_type", $"input_type must be \"text\" or \"image\", not \"{body.InputType}\".");
        if (IsSentenceModel(registry, body, inputType))
        {
            if (inputType == "image" || body.Images is { Count: > 0 })
                throw new InvalidRequestException(inputType == "image" ? "input_type" : "images", $"Model '{body.Model}' embeds texts only; use a CLIP model for images.");
            var texts = await engine.EmbedAsync(body.Model, ClipEndpoints.Strings(body.Input, "input"), body.Dimensions, ct);
            return TypedResults.Ok(Response(texts.Model, texts.Vectors, texts.Tokens, asBase64, texts.Truncated.Count > 0 ? texts.Truncated : null));
        }
        var result = await ClipEndpoints.EmbedAsync(body, clip, limits.Value, ct);
        return TypedResults.Ok(Response(result.Model, result.Vectors, result.Tokens, asBase64, null));
    }

    /// <summary>Whether the request goes to the sentence-embedding engine (see the class summary for the rule).</summary>
    private static bool IsSentenceModel(ModelRegistry registry, EmbeddingsRequest body, string? inputType)
    {
        if (!string.IsNullOrWhiteSpace(body.Model))
        {
            var named = registry.Find(body.Model);
            if (named is { Kind: not (ModelKind.Embedding or ModelKind.Clip or ModelKind.Unknown) })
                throw new InvalidRequestException("model", $"Model '{named.Id}' is a {named.Kind.ToString().ToLowerInvariant()} model; /v1/embeddings needs an embedding or CLIP model.");
            return named?.Kind == ModelKind.Embedding;
        }
        if (inputType == "image" || body.Images is { Count: > 0 }) return false;
        var models = registry.Models;
        return !models.Any(m => m.Kind == ModelKind.Clip && m.IsValid) && models.Any(m => m.Kind == ModelKind.Embedding && m.IsValid);
    }

    private static EmbeddingsResponse Response(string model, IReadOnlyList<float[]> vectors, int tokens, bool asBase64, IReadOnlyList<int>? truncated) =>
        new("list", vectors.Select((v, i) => new EmbeddingItem("embedding", i, new EmbeddingVector(v, asBase64))).ToList(), model,
            new EmbeddingUsage(tokens, tokens), truncated);
}
