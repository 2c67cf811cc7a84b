using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// What a KV-cache decoder graph expects, read from its config.json (text_config for VLMs) and the session's
/// input/output metadata: the token input (input_ids or inputs_embeds), the past_key_values.* inputs in order with
/// their present.* outputs, kv heads, head_dim, hidden size, context window and logits width.
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
    int LogitsWidth)
{
    public const string InputIds = "input_ids";
    public const string InputsEmbeds = "inputs_embeds";

    public bool TakesEmbeddings => TokenInput == InputsEmbeds;

    public static DecoderSpec From(InferenceSession session, string configPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(configPath));
        var cfg = doc.RootElement.TryGetProperty("text_config", out var text) && text.ValueKind == JsonValueKind.Object ? text : doc.RootElement;
        int? Int(string name) => cfg.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

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

        var layers = Int("num_hidden_layers") ?? past.Length / 2;
        if (layers * 2 != past.Length)
            throw new InvalidDataException($"config.json says {layers} layers but the decoder has {past.Length} past_key_values inputs.");
        var heads = Int("num_attention_heads") ?? throw new InvalidDataException("config.json has no num_attention_heads.");
        var hidden = Int("hidden_size") ?? throw new InvalidDataException("config.json has no hidden_size.");
        var kvHeads = Int("num_key_value_heads") ?? heads;
        var headDim = Int("head_dim") ?? hidden / heads;
        var meta = inputs[past[0]];
        var dims = meta.Dimensions;
        if (dims.Length == 4)
        {
            if (dims[1] > 0 && dims[1] != kvHeads) throw new InvalidDataException($"The cache has {dims[1]} kv heads, config.json says {kvHeads}.");
            if (dims[3] > 0 && dims[3] != headDim) throw new InvalidDataException($"The cache head size is {dims[3]}, config.json says {headDim}.");
        }
        if (meta.ElementDataType != TensorElementType.Float)
            throw new InvalidDataException($"Cache tensors of type {meta.ElementDataType} are not supported (float32 exports only).");
        var logitsDims = outputs["logits"].Dimensions;
        var width = logitsDims.Length == 3 && logitsDims[2] > 0 ? logitsDims[2] : Int("vocab_size") ?? throw new InvalidDataException("Unknown logits width.");
        return new DecoderSpec(token, inputs.ContainsKey("position_ids"), past, present, layers, kvHeads, headDim, hidden,
            Int("max_position_embeddings") ?? 2048, width);

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
