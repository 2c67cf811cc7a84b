using System.Text.Json;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>How token vectors become one sentence vector (sentence-transformers' Pooling module modes).</summary>
public enum PoolingMode { Cls, Mean, Max, MeanSqrtLen, LastToken }

/// <summary>
/// What a sentence encoder's files say about its use: pooling (1_Pooling/config.json; several modes are concatenated
/// in sentence-transformers' order), whether vectors are L2-normalised (a Normalize module in modules.json), the longest
/// input in tokens (sentence_bert_config.json max_seq_length, tokenizer_config.json model_max_length and config.json
/// max_position_embeddings, whichever is smallest) and the shorter sizes it was trained to be cut to
/// (matryoshka_dimensions in config.json or config_sentence_transformers.json).
/// </summary>
public sealed record EmbeddingConfig(IReadOnlyList<PoolingMode> Pooling, bool Normalize, int MaxLength, IReadOnlyList<int> MatryoshkaDimensions)
{
    /// <summary>BERT's position table when a folder does not say (bert-base, MiniLM, mpnet: 512).</summary>
    public const int DefaultMaxLength = 512;

    public static EmbeddingConfig Read(ModelDescriptor model)
    {
        var config = ModelFiles.ReadJson(model.PathOf("config.json"));
        var modules = ModelFiles.ReadJson(model.PathOf("modules.json"));
        var pooling = PoolingOf(model, modules);
        // No modules.json (a plain transformers export): unit vectors, as OpenAI's API gives; with one, exactly what it lists.
        var normalize = modules is not { ValueKind: JsonValueKind.Array } list
            || list.EnumerateArray().Any(m => Str(m, "type")?.EndsWith(".Normalize", StringComparison.Ordinal) == true);
        var max = new[]
        {
            Int(ModelFiles.ReadJson(model.PathOf("sentence_bert_config.json")), "max_seq_length"),
            Int(ModelFiles.ReadJson(model.PathOf("tokenizer_config.json")), "model_max_length"),
            PositionsOf(config),
        }.Where(v => v is > 2).Min() ?? DefaultMaxLength;
        var matryoshka = Ints(config, "matryoshka_dimensions")
            ?? Ints(ModelFiles.ReadJson(model.PathOf("config_sentence_transformers.json")), "matryoshka_dimensions")
            ?? [];
        return new EmbeddingConfig(pooling, normalize, max, matryoshka);
    }

    /// <summary>RoBERTa-style encoders offset positions by padding_idx + 1, so they hold two fewer tokens than their table.</summary>
    private static int? PositionsOf(JsonElement? config)
    {
        if (Int(config, "max_position_embeddings") is not { } positions) return null;
        return Str(config, "model_type") is "roberta" or "xlm-roberta" or "camembert" ? positions - 2 : positions;
    }

    private static List<PoolingMode> PoolingOf(ModelDescriptor model, JsonElement? modules)
    {
        // The Pooling module's folder is named in modules.json ("1_Pooling" in every sentence-transformers export).
        var folder = modules is { ValueKind: JsonValueKind.Array } list
            ? list.EnumerateArray().Where(m => Str(m, "type")?.EndsWith(".Pooling", StringComparison.Ordinal) == true).Select(m => Str(m, "path")).FirstOrDefault()
            : null;
        var path = model.PathOf(Path.Combine(string.IsNullOrEmpty(folder) ? "1_Pooling" : folder, "config.json"));
        if (ModelFiles.ReadJson(path) is not { } pooling) return [PoolingMode.Mean]; // sentence-transformers' default
        var modes = new List<PoolingMode>();
        if (Bool(pooling, "pooling_mode_cls_token")) modes.Add(PoolingMode.Cls);
        if (Bool(pooling, "pooling_mode_max_tokens")) modes.Add(PoolingMode.Max);
        if (Bool(pooling, "pooling_mode_mean_tokens")) modes.Add(PoolingMode.Mean);
        if (Bool(pooling, "pooling_mode_mean_sqrt_len_tokens")) modes.Add(PoolingMode.MeanSqrtLen);
        if (Bool(pooling, "pooling_mode_weightedmean_tokens"))
            throw new NotSupportedException($"{path}: weighted-mean pooling is not supported (cls, max, mean, mean_sqrt_len, lasttoken are).");
        if (Bool(pooling, "pooling_mode_lasttoken")) modes.Add(PoolingMode.LastToken);
        if (modes.Count == 0) throw new InvalidDataException($"{path} enables no pooling mode.");
        return modes;
    }

    private static string? Str(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Bool(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static int? Int(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number
        && v.TryGetDouble(out var d) && d is >= 1 and < int.MaxValue ? (int)d : null;

    private static int[]? Ints(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var i) && i > 0).Select(x => x.GetInt32()).ToArray()
            : null;
}
