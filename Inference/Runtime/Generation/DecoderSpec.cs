using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// What a KV-cache decoder graph expects, read from its config.json (text_config for VLMs) and the session's
/// input/output metadata: the token input (input_ids or inputs_embeds), whether it takes position_ids and
/// num_logits_to_keep, the past_key_values.* inputs in order with their present.* outputs and their element type
/// (float32, or float16 in fp16 exports), kv heads, head_dim, hidden size, context window and logits width.
/// Config keys of the common families are read: Qwen2 / Llama / SmolLM2 / Mistral / Phi-3 (num_hidden_layers,
/// num_attention_heads, num_key_value_heads, head_dim, hidden_size, max_position_embeddings) and GPT-2 style
/// (n_layer, n_head, n_embd, n_positions); the cache's own dimensions win where the export fixed them.
/// </summary>
public sealed record DecoderSpec(
    string TokenInput,
    bool HasPositionIds,
    IReadOnlyList<string> PastNames,
    IReadOnlyList<string> PresentNames,
    int NumLayers,
    int NumKvHeads,
    int HeadDim,
    int HiddenSize,
    int MaxPositions,
    int LogitsWidth,
    TensorElementType CacheType = TensorElementType.Float,
    string? LogitsToKeepInput = null,
    int LogitsToKeepRank = 0)
{
    public const string InputIds = "input_ids";
    public const string InputsEmbeds = "inputs_embeds";

    public bool TakesEmbeddings => TokenInput == InputsEmbeds;

    /// <summary>Inputs through which an export computes logits for the last k positions only (transformers.js feeds 1 while generating).</summary>
    public static IReadOnlyList<string> LogitsToKeepNames { get; } = ["num_logits_to_keep", "logits_to_keep"];

    public static DecoderSpec From(InferenceSession session, string configPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(configPath));
        var cfg = doc.RootElement.TryGetProperty("text_config", out var text) && text.ValueKind == JsonValueKind.Object ? text : doc.RootElement;
        int? Int(params string[] names)
        {
            foreach (var name in names)
                if (cfg.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)) return i;
            return null;
        }

        var inputs = session.InputMetadata;
        var token = inputs.ContainsKey(InputIds) ? InputIds
            : inputs.ContainsKey(InputsEmbeds) ? InputsEmbeds
            : throw new InvalidDataException("The decoder has neither an input_ids nor an inputs_embeds input.");
        if (!inputs.ContainsKey("attention_mask")) throw new InvalidDataException("The decoder has no attention_mask input.");

        var past = inputs.Keys.Where(k => k.StartsWith("past_key_values.", StringComparison.Ordinal))
            .OrderBy(LayerOf).ThenBy(k => k.EndsWith(".value", StringComparison.Ordinal) ? 1 : 0).ToArray();
        if (past.Length == 0) throw new InvalidDataException("The decoder has no past_key_values.* inputs (export it with the KV cache).");
        var outputs = session.OutputMetadata;
        var present = past.Select(p => "present." + p["past_key_values.".Length..]).ToArray();
        foreach (var p in present)
            if (!outputs.ContainsKey(p)) throw new InvalidDataException($"The decoder has no output '{p}' for its cache input.");
        if (!outputs.ContainsKey("logits")) throw new InvalidDataException("The decoder has no logits output.");

        var layers = Int("num_hidden_layers", "n_layer", "num_layers") ?? past.Length / 2;
        if (layers * 2 != past.Length)
            throw new InvalidDataException($"config.json says {layers} layers but the decoder has {past.Length} past_key_values inputs.");
        var meta = inputs[past[0]];
        var dims = meta.Dimensions;
        var cacheHeads = dims.Length == 4 && dims[1] > 0 ? dims[1] : (int?)null;
        var cacheHeadDim = dims.Length == 4 && dims[3] > 0 ? dims[3] : (int?)null;
        var embedsWidth = token == InputsEmbeds && inputs[token].Dimensions is { Length: 3 } e && e[2] > 0 ? e[2] : (int?)null;
        var heads = Int("num_attention_heads", "n_head", "num_heads");
        var hidden = Int("hidden_size", "n_embd", "d_model") ?? embedsWidth;
        var kvHeads = Int("num_key_value_heads", "num_kv_heads", "n_head_kv") ?? cacheHeads ?? heads
            ?? throw new InvalidDataException("config.json has no num_key_value_heads or num_attention_heads, and the cache does not fix its heads.");
        var headDim = Int("head_dim") ?? cacheHeadDim ?? (hidden is { } h && heads is { } n ? h / n : (int?)null)
            ?? throw new InvalidDataException("config.json has no head_dim, hidden_size or num_attention_heads, and the cache does not fix its head size.");
        if (cacheHeads is { } ch && ch != kvHeads) throw new InvalidDataException($"The cache has {ch} kv heads, config.json says {kvHeads}.");
        if (cacheHeadDim is { } cd && cd != headDim) throw new InvalidDataException($"The cache head size is {cd}, config.json says {headDim}.");
        if (!Tensors.IsFloating(meta.ElementDataType))
            throw new InvalidDataException($"Cache tensors of type {meta.ElementDataType} are not supported (float32, float16 or bfloat16).");
        var logitsDims = outputs["logits"].Dimensions;
        var width = logitsDims.Length == 3 && logitsDims[2] > 0 ? logitsDims[2] : Int("vocab_size") ?? throw new InvalidDataException("Unknown logits width.");
        var keep = LogitsToKeepNames.FirstOrDefault(inputs.ContainsKey);
        return new DecoderSpec(token, inputs.ContainsKey("position_ids"), past, present, layers, kvHeads, headDim, hidden ?? (heads ?? kvHeads) * headDim,
            Int("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length") ?? 2048, width, meta.ElementDataType,
            keep, keep is null ? 0 : inputs[keep].Dimensions.Length);

        static int LayerOf(string name) => int.TryParse(name.Split('.')[1], out var i) ? i : int.MaxValue;
    }
}

/// <summary>generation_config.json: defaults of the sampler and the ids that end generation.</summary>
public sealed record GenerationDefaults(
    IReadOnlyList<int> EosIds, int? PadId, bool DoSample, double Temperature, double TopP, int TopK, double MinP,
    double RepetitionPenalty, int? MaxNewTokens)
{
    public static GenerationDefaults Load(string modelDirectory)
    {
        var eos = new List<int>();
        int? pad = null;
        bool doSample = false;
        double temperature = 1, topP = 1, minP = 0, rep = 1;
        int topK = 0;
        int? maxNew = null;
        var genPath = Path.Combine(modelDirectory, "generation_config.json");
        if (File.Exists(genPath))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(genPath));
            var g = doc.RootElement;
            AddIds(g, "eos_token_id", eos);
            if (g.TryGetProperty("pad_token_id", out var p) && p.ValueKind == JsonValueKind.Number) pad = p.GetInt32();
            if (g.TryGetProperty("do_sample", out var d) && d.ValueKind is JsonValueKind.True or JsonValueKind.False) doSample = d.GetBoolean();
            temperature = Num(g, "temperature") ?? temperature;
            topP = Num(g, "top_p") ?? topP;
            minP = Num(g, "min_p") ?? minP;
            rep = Num(g, "repetition_penalty") ?? rep;
            topK = (int?)Num(g, "top_k") ?? topK;
            maxNew = (int?)Num(g, "max_new_tokens");
        }
        var cfgPath = Path.Combine(modelDirectory, "config.json");
        if (eos.Count == 0 && File.Exists(cfgPath))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(cfgPath));
            AddIds(doc.RootElement, "eos_token_id", eos);
        }
        return new GenerationDefaults(eos, pad, doSample, temperature, topP, topK, minP, rep, maxNew);
    }

    private static double? Num(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static void AddIds(JsonElement e, string name, List<int> into)
    {
        if (!e.TryGetProperty(name, out var v)) return;
        if (v.ValueKind == JsonValueKind.Number) into.Add(v.GetInt32());
        else if (v.ValueKind == JsonValueKind.Array)
            foreach (var x in v.EnumerateArray()) if (x.ValueKind == JsonValueKind.Number) into.Add(x.GetInt32());
    }
}
