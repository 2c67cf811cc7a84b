using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>
/// A loaded vision-language model in the onnx-community three-graph layout: vision_encoder.onnx (pixel_values →
/// image_features), embed_tokens.onnx (input_ids → inputs_embeds) and decoder_model_merged.onnx (KV-cache decoder on
/// inputs_embeds); with its tokenizer, chat template, image processor and image token rule from config.json.
/// Two image layouts: one fixed-size image per image token repeated image_seq_len times (CLIPImageProcessor,
/// pixel_values [n, 3, S, S], as the bundled shapes-vlm), and Idefics3 / SmolVLM (config.json model_type "idefics3" or
/// an Idefics3ImageProcessor): each image split into a grid of tiles plus a global image, pixel_values
/// [1, tiles, 3, S, S] with pixel_attention_mask, the prompt expanded by Idefics3Processor's rule.
/// </summary>
public sealed class VlmModel : IDisposable
{
    private readonly Lazy<ClipImageProcessor> _processor;
    private readonly Lazy<ChatTemplate> _template;

    public VlmModel(ModelDescriptor model, Func<string, InferenceSession> createSession, int conversationCacheSize = 8, int featureCacheSize = 32,
        bool? kvIoBinding = false)
    {
        Id = model.Id;
        Conversations = new ConversationCache(conversationCacheSize);
        Features = new LruCache(featureCacheSize);
        Tokenizer = TokenizerLoader.Load(model.Directory);
        _template = new Lazy<ChatTemplate>(() => ChatTemplate.Load(model.Directory));
        Defaults = GenerationDefaults.Load(model.Directory);
        var preprocessorPath = model.PathOf("preprocessor_config.json");
        _processor = new Lazy<ClipImageProcessor>(() => ClipImageProcessor.Load(preprocessorPath));
        using var doc = JsonDocument.Parse(File.ReadAllText(model.PathOf("config.json")));
        var root = doc.RootElement;
        IsIdefics3 = IsIdefics3Layout(root, preprocessorPath);
        if (IsIdefics3) Idefics3Processor = Idefics3ImageProcessor.Load(preprocessorPath);
        var sessions = new List<InferenceSession>();
        try
        {
            Vision = createSession(model.Onnx("onnx/vision_encoder")); sessions.Add(Vision);
            Embed = createSession(model.Onnx("onnx/embed_tokens")); sessions.Add(Embed);
            Decoder = createSession(model.Onnx("onnx/decoder_model_merged")); sessions.Add(Decoder);
            Spec = DecoderSpec.From(Decoder, model.PathOf("config.json"));
            if (!Spec.TakesEmbeddings) throw new InvalidDataException("decoder_model_merged.onnx must take inputs_embeds.");
            Runner = DecoderRunner.Create(Decoder, Spec, kvIoBinding);
        }
        catch
        {
            foreach (var s in sessions) s.Dispose();
            throw;
        }
        EosIds = Defaults.EosIds.ToHashSet();
        PadId = Defaults.PadId ?? (Defaults.EosIds.Count > 0 ? Defaults.EosIds[0] : 0);
        VisionInput = Vision.InputMetadata.ContainsKey("pixel_values") ? "pixel_values" : Vision.InputMetadata.Keys.First();
        VisionMaskInput = Vision.InputMetadata.ContainsKey("pixel_attention_mask") ? "pixel_attention_mask" : null;
        VisionOutput = Vision.OutputMetadata.Keys.First();
        EmbedInput = Embed.InputMetadata.Keys.First();
        EmbedOutput = Embed.OutputMetadata.Keys.First();

        int? Int(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
        var imageToken = root.TryGetProperty("image_token", out var it) && it.ValueKind == JsonValueKind.String ? it.GetString()! : "<image>";
        ImageToken = imageToken;
        ImageTokenId = Int("image_token_id") ?? Int("image_token_index") ?? Tokenizer.TokenToId(imageToken)
            ?? throw new InvalidDataException("config.json has no image_token_id and the tokenizer has no image token.");
        var featureDims = Vision.OutputMetadata[VisionOutput].Dimensions;
        ImageSeqLen = (IsIdefics3 ? ProcessorImageSeqLen(model) : null) ?? Int("image_seq_len") ?? Int("num_query_tokens")
            ?? (featureDims.Length == 3 && featureDims[1] > 0 ? featureDims[1] : (int?)null)
            ?? (IsIdefics3 ? SeqLenFromVisionConfig(root) : null)
            ?? throw new InvalidDataException("config.json has no image_seq_len.");
        var inDims = Vision.InputMetadata[VisionInput].Dimensions;
        if (IsIdefics3)
        {
            ImageSize = Idefics3Processor!.TileSize;
            if (inDims.Length is not (4 or 5)) throw new InvalidDataException($"vision_encoder.onnx's {VisionInput} has rank {inDims.Length}; expected [batch, images, 3, H, W] or [images, 3, H, W].");
            if (inDims[^1] > 0 && inDims[^1] != ImageSize)
                throw new InvalidDataException($"vision_encoder.onnx takes {inDims[^1]} px images but preprocessor_config.json's max_image_size is {ImageSize}.");
        }
        else
        {
            ImageSize = inDims.Length == 4 && inDims[2] > 0 ? inDims[2] : 224;
        }
    }

    /// <summary>config.json model_type "idefics3", or an Idefics3ImageProcessor in preprocessor_config.json.</summary>
    private static bool IsIdefics3Layout(JsonElement config, string preprocessorPath)
    {
        if (config.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "idefics3") return true;
        if (!File.Exists(preprocessorPath)) return false;
        using var pre = JsonDocument.Parse(File.ReadAllText(preprocessorPath));
        return pre.RootElement.TryGetProperty("image_processor_type", out var p) && p.ValueKind == JsonValueKind.String && p.GetString() == "Idefics3ImageProcessor";
    }

    /// <summary>Idefics3Processor's image_seq_len, in processor_config.json.</summary>
    private static int? ProcessorImageSeqLen(ModelDescriptor model)
    {
        var path = model.PathOf("processor_config.json");
        if (!File.Exists(path)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.TryGetProperty("image_seq_len", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
    }

    /// <summary>Tokens per tile from the vision config: (image_size / patch_size)² patches, merged scale_factor² to one.</summary>
    private static int? SeqLenFromVisionConfig(JsonElement config)
    {
        if (!config.TryGetProperty("vision_config", out var v) || !v.TryGetProperty("image_size", out var size) || !v.TryGetProperty("patch_size", out var patch)) return null;
        var scale = config.TryGetProperty("scale_factor", out var s) ? s.GetInt32() : 1;
        var side = size.GetInt32() / patch.GetInt32();
        return side * side / (scale * scale);
    }

    public string Id { get; }
    public ITextTokenizer Tokenizer { get; }
    /// <summary>The chat template, loaded on first use (a prompt built from ids, as in tests and benchmarks, needs none).</summary>
    public ChatTemplate Template => _template.Value;
    public GenerationDefaults Defaults { get; }
    public InferenceSession Vision { get; }
    public InferenceSession Embed { get; }
    public InferenceSession Decoder { get; }
    public DecoderSpec Spec { get; }
    public DecoderRunner Runner { get; }
    public IReadOnlySet<int> EosIds { get; }
    public int PadId { get; }
    public string ImageToken { get; }
    public int ImageTokenId { get; }
    public int ImageSeqLen { get; }
    public int ImageSize { get; }
    public string VisionInput { get; }
    /// <summary>The vision encoder's pixel_attention_mask input (Idefics3 exports), or null.</summary>
    public string? VisionMaskInput { get; }
    /// <summary>Idefics3 / SmolVLM layout: images split into tiles, prompts expanded by Idefics3Processor's rule.</summary>
    public bool IsIdefics3 { get; }
    /// <summary>The Idefics3 image processor (null in the single-image layout).</summary>
    public Idefics3ImageProcessor? Idefics3Processor { get; }
    /// <summary>Idefics3's image tokens (the image token from config.json).</summary>
    public Idefics3Tokens Idefics3Tokens => new(ImageToken);
    public string VisionOutput { get; }
    public string EmbedInput { get; }
    public string EmbedOutput { get; }

    /// <summary>The image processor (preprocessor_config.json), loaded on first use.</summary>
    public ClipImageProcessor Processor => _processor.Value;

    public int VocabSize => Math.Min(Tokenizer.VocabSize, Spec.LogitsWidth);

    public int HiddenSize => Spec.HiddenSize;

    /// <summary>Recent conversations' KV caches (native tensors): they live and die with the model, so an idle unload frees them.</summary>
    public ConversationCache Conversations { get; }

    /// <summary>Recent images' features.</summary>
    public LruCache Features { get; }

    public void Dispose()
    {
        Conversations.Dispose();
        Runner.Dispose();
        Vision.Dispose();
        Embed.Dispose();
        Decoder.Dispose();
    }
}
