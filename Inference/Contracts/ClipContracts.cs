using System.Text.Json;
using System.Text.Json.Serialization;

namespace MultimodalHub.Contracts;

/// <summary>
/// POST /v1/classify as JSON: images as data URLs ("data:image/png;base64,...") or raw base64; labels; optional
/// prompt templates ("{}" or "{label}" marks where the label goes; several are averaged = prompt ensembling);
/// top_k (default: every label); model (default: the first CLIP model). The multipart form takes the same fields,
/// with the images as files ("image" or "images"), repeated "labels" fields or one comma-separated value.
/// </summary>
public sealed record ClassifyRequest(
    IReadOnlyList<string>? Images = null,
    IReadOnlyList<string>? Labels = null,
    IReadOnlyList<string>? Templates = null,
    int? TopK = null,
    string? Model = null);

/// <summary>
/// Ranked labels per image, the N images x M labels similarity matrix, and where the time went. Scoring "softmax"
/// (CLIP: probabilities over the labels, summing to 1) or "sigmoid" (SigLIP: sigmoid(logit_scale * cos + logit_bias)
/// per label, independent of the others).
/// </summary>
public sealed record ClassifyResponse(
    string Model,
    IReadOnlyList<string> Labels,
    IReadOnlyList<string> Templates,
    IReadOnlyList<ImageClassification> Results,
    IReadOnlyList<float[]> Similarity,
    IReadOnlyList<float[]> Probabilities,
    float LogitScale,
    ClipTimings Timings,
    string Scoring = "softmax",
    float LogitBias = 0);

/// <summary>One image's labels, best first, top_k of them; Score is the softmax probability over all labels (SigLIP: the label's own sigmoid).</summary>
public sealed record ImageClassification(int Index, string? Filename, IReadOnlyList<LabelScore> Labels);

public sealed record LabelScore(string Label, float Score, float Similarity);

/// <summary>Milliseconds per stage: decode + preprocess of the images, waiting in the model's queue, the two towers, scoring.</summary>
public sealed record ClipTimings(
    double DecodeMs,
    double PreprocessMs,
    double QueueMs,
    double ImageEncodeMs,
    double TextEncodeMs,
    double ScoreMs,
    double TotalMs,
    int TextsEncoded,
    int TextsCached);

/// <summary>
/// POST /v1/embeddings, OpenAI-style: input is a string or an array of strings; model is a sentence-embedding model
/// (kind "embedding") or a CLIP model. For CLIP image vectors set input_type "image" (input then holds base64 images
/// or data URLs) or give them in "images". encoding_format "float" (default) or "base64" (little-endian float32, as
/// OpenAI). dimensions: a shorter size the model was trained for (Matryoshka), renormalised. Vectors are L2-normalised.
/// </summary>
public sealed record EmbeddingsRequest(
    JsonElement? Input = null,
    string? Model = null,
    string? InputType = null,
    IReadOnlyList<string>? Images = null,
    string? EncodingFormat = null,
    int? Dimensions = null,
    string? User = null);

/// <param name="Truncated">Indices of the texts longer than the model's limit (embedded from their beginning); absent when none was.</param>
public sealed record EmbeddingsResponse(string Object, IReadOnlyList<EmbeddingItem> Data, string Model, EmbeddingUsage Usage, IReadOnlyList<int>? Truncated = null);

public sealed record EmbeddingItem(string Object, int Index, EmbeddingVector Embedding);

public sealed record EmbeddingUsage(int PromptTokens, int TotalTokens);

/// <summary>A vector written as a JSON array of floats, or as base64 of little-endian float32 when <see cref="AsBase64"/>.</summary>
[JsonConverter(typeof(EmbeddingVectorJsonConverter))]
public sealed record EmbeddingVector(float[] Values, bool AsBase64 = false);

public sealed class EmbeddingVectorJsonConverter : JsonConverter<EmbeddingVector>
{
    public override EmbeddingVector Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            var bytes = Convert.FromBase64String(reader.GetString()!);
            var values = new float[bytes.Length / 4];
            Buffer.BlockCopy(bytes, 0, values, 0, values.Length * 4);
            if (!BitConverter.IsLittleEndian) throw new NotSupportedException("big-endian host");
            return new EmbeddingVector(values, true);
        }
        return new EmbeddingVector(JsonSerializer.Deserialize<float[]>(ref reader, options) ?? [], false);
    }

    public override void Write(Utf8JsonWriter writer, EmbeddingVector value, JsonSerializerOptions options)
    {
        if (value.AsBase64)
        {
            var bytes = new byte[value.Values.Length * 4];
            Buffer.BlockCopy(value.Values, 0, bytes, 0, bytes.Length);
            writer.WriteStringValue(Convert.ToBase64String(bytes));
            return;
        }
        writer.WriteStartArray();
        foreach (var v in value.Values) writer.WriteNumberValue(v);
        writer.WriteEndArray();
    }
}
