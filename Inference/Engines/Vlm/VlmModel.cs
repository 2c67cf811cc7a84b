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
/// </summary>
public sealed class VlmModel : IDisposable
{
    private readonly Lazy<ClipImageProcessor> _processor;
    private readonly Lazy<ChatTemplate> _template;

    public VlmModel(ModelDescriptor model, Func<string, InferenceSession> createSession, int conversationCacheSize = 8, int featureCacheSize = 32,
        bool kvIoBinding = false)
    {
        Id = model.Id;
        Conversations = new ConversationCache(conversationCacheSize);
        Features = new LruCache(featureCacheSize);
        Tokenizer = TokenizerLoader.Load(model.Directory);
        _template = new Lazy<ChatTemplate>(() => ChatTemplate.Load(model.Directory));
        Defaults = GenerationDefaults.Load(model.Directory);
        var preprocessorPath = model.PathOf("preprocessor_config.json");
        _processor = new Lazy<ClipImageProcessor>(() => ClipImageProcessor.Load(preprocessorPath));
        var sessions = new List<InferenceSession>();
        try
        {
            Vision = createSession(model.Onnx("onnx/vision_encoder")); sessions.Add(Vision);
            Embed = createSession(model.Onnx("onnx/embed_tokens")); sessions.Add(Embed);
            Decoder = createSession(model.Onnx("onnx/decoder_model_merged")); sessions.Add(Decoder);
            Spec = DecoderSpec.From(Decoder, model.PathOf("config.json"));
            if (!Spec.TakesEmbeddings) throw new InvalidDataException("decoder_model_merged.onnx must take inputs_embeds.");
        }
        catch
        {
            foreach (var s in sessions) s.Dispose();
            throw;
        }
        Runner = new DecoderRunner(Decoder, Spec, kvIoBinding);
        EosIds = Defaults.EosIds.ToHashSet();
        PadId = Defaults.PadId ?? (Defaults.EosIds.Count > 0 ? Defaults.EosIds[0] : 0);
        VisionInput = Vision.InputMetadata.Keys.First();
        VisionOutput = Vision.OutputMetadata.Keys.First();
        EmbedInput = Embed.InputMetadata.Keys.First();
        EmbedOutput = Embed.OutputMetadata.Keys.First();

        using var doc = JsonDocument.Parse(File.ReadAllText(model.PathOf("config.json")));
        var root = doc.RootElement;
        int? Int(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
        var imageToken = root.TryGetProperty("image_token", out var it) && it.ValueKind == JsonValueKind.String ? it.GetString()! : "<image>";
        ImageToken = imageToken;
        ImageTokenId = Int("image_token_id") ?? Int("image_token_index") ?? Tokenizer.TokenToId(imageToken)
            ?? throw new InvalidDataException("config.json has no image_token_id and the tokenizer has no image token.");
        var featureDims = Vision.OutputMetadata[VisionOutput].Dimensions;
        ImageSeqLen = Int("image_seq_len") ?? Int("num_query_tokens") ?? (featureDims.Length == 3 && featureDims[1] > 0 ? featureDims[1]
            : throw new InvalidDataException("config.json has no image_seq_len."));
        var inDims = Vision.InputMetadata[VisionInput].Dimensions;
        ImageSize = inDims.Length == 4 && inDims[2] > 0 ? inDims[2] : 224;
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
        Vision.Dispose();
        Embed.Dispose();
        Decoder.Dispose();
    }
}
