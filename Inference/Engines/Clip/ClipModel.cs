using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>
/// A CLIP model in memory: both towers, its tokenizer, its image processor, its trained logit scale and a bounded
/// cache of normalised text embeddings. Everything is read from the model's own files, so a real transformers.js
/// CLIP export (e.g. clip-vit-base-patch32) loads the same way as the demo model. Thread-safe.
/// </summary>
public sealed class ClipModel : IDisposable
{
    public ClipModel(string id, ClipTowers towers, ITextTokenizer tokenizer, ClipImageProcessor processor, float logitScale,
        int maxTextLength, int textCacheEntries)
    {
        Id = id;
        Towers = towers;
        Tokenizer = tokenizer;
        Processor = processor;
        LogitScale = logitScale;
        MaxTextLength = maxTextLength;
        TextCache = new LruCache<(float[] Vector, int Tokens)>(textCacheEntries);
    }

    public string Id { get; }
    public ClipTowers Towers { get; }
    public ITextTokenizer Tokenizer { get; }
    public ClipImageProcessor Processor { get; }

    /// <summary>exp of the trained logit_scale parameter (23.52 for clip-shapes, 100 for OpenAI CLIP).</summary>
    public float LogitScale { get; }

    /// <summary>Token positions of the text tower (77 for CLIP).</summary>
    public int MaxTextLength { get; }

    /// <summary>Recent prompts' normalised text embeddings with their real token counts, keyed by the exact prompt.</summary>
    public LruCache<(float[] Vector, int Tokens)> TextCache { get; }

    public static ClipModel Load(ModelDescriptor model, OrtSessionFactory sessions, ClipOptions options, ILogger log)
    {
        var processor = ClipImageProcessor.Load(model.PathOf("preprocessor_config.json"));
        var tokenizer = TokenizerLoader.Load(model.Directory);
        var maxLength = MaxTextLengthOf(model);
        var vision = sessions.Create(model.Onnx("onnx/vision_model"));
        InferenceSession? text = null;
        try
        {
            text = sessions.Create(model.Onnx("onnx/text_model"));
            var towers = new ClipTowers(vision, text);
            var scale = ReadLogitScale(model, sessions, processor, options, log);
            log.LogInformation("CLIP model {ModelId}: logit scale {LogitScale}, text length {MaxTextLength}, image {Height}x{Width}",
                model.Id, scale, maxLength, processor.Height, processor.Width);
            return new ClipModel(model.Id, towers, tokenizer, processor, scale, towers.FixedTextLength ?? maxLength, options.TextCacheEntries);
        }
        catch
        {
            vision.Dispose();
            text?.Dispose();
            throw;
        }
    }

    /// <summary>text_config.max_position_embeddings, bounded by tokenizer_config's model_max_length; 77 when neither says.</summary>
    public static int MaxTextLengthOf(ModelDescriptor model)
    {
        var length = 77;
        if (ReadJson(model.PathOf("config.json")) is { } config
            && config.TryGetProperty("text_config", out var tc) && tc.TryGetProperty("max_position_embeddings", out var mp) && mp.TryGetInt32(out var m) && m > 1)
            length = m;
        if (ReadJson(model.PathOf("tokenizer_config.json")) is { } tok
            && tok.TryGetProperty("model_max_length", out var ml) && ml.TryGetDouble(out var v) && v > 1 && v < length)
            length = (int)v;
        return length;
    }

    /// <summary>
    /// The trained logit scale, read through onnx/model.onnx (the full CLIPModel export): run it once on three probe
    /// images and three probe texts, and fit logits = scale * cos. Falls back to <see cref="ClipOptions.FallbackLogitScale"/>.
    /// </summary>
    public static float ReadLogitScale(ModelDescriptor model, OrtSessionFactory sessions, ClipImageProcessor processor, ClipOptions options, ILogger log)
    {
        var path = model.Onnx("onnx/model");
        if (!File.Exists(path))
        {
            log.LogWarning("CLIP model {ModelId} has no onnx/model.onnx; using logit scale {LogitScale}", model.Id, options.FallbackLogitScale);
            return options.FallbackLogitScale;
        }
        try
        {
            using var session = sessions.Create(path);
            var (bos, eos) = SpecialIds(model);
            long[][] texts = [[bos, eos], [bos, 10, 20, 30, eos], [bos, 100, 5, eos]];
            var length = texts.Max(t => t.Length);
            var ids = new long[texts.Length * length];
            var mask = new long[texts.Length * length];
            for (var i = 0; i < texts.Length; i++)
                for (var j = 0; j < length; j++)
                {
                    ids[i * length + j] = j < texts[i].Length ? texts[i][j] : eos;
                    mask[i * length + j] = j < texts[i].Length ? 1 : 0;
                }
            var images = ProbeImages(processor);
            var pixels = processor.PreprocessBatch(images);
            var inputs = new List<(string Name, OrtValue Value)>();
            try
            {
                foreach (var name in session.InputNames)
                {
                    OrtValue value = name switch
                    {
                        "pixel_values" => Tensors.FloatInput(session, name, pixels, images.Length, 3, processor.Height, processor.Width),
                        "input_ids" => Tensors.Ids(session, name, ids, texts.Length, length),
                        "attention_mask" => Tensors.Ids(session, name, mask, texts.Length, length),
                        _ => throw new InvalidOperationException($"onnx/model.onnx has an unexpected input '{name}'."),
                    };
                    inputs.Add((name, value));
                }
                using var runOptions = new RunOptions();
                using var outputs = session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), inputs.Select(i => i.Value).ToArray(),
                    ["logits_per_image", "image_embeds", "text_embeds"]);
                var logits = Rows(outputs[0]);
                var imageEmbeds = Rows(outputs[1]).Select(r => ClipScore.Normalize(r)).ToArray();
                var textEmbeds = Rows(outputs[2]).Select(r => ClipScore.Normalize(r)).ToArray();
                var scale = ClipScore.LogitScaleFrom(logits, imageEmbeds, textEmbeds);
                if (!(scale > 0 && scale < 1e4)) throw new InvalidOperationException($"implausible logit scale {scale}");
                return scale;
            }
            finally
            {
                foreach (var (_, value) in inputs) value.Dispose();
            }
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or KeyNotFoundException)
        {
            log.LogWarning(e, "Could not read the logit scale of CLIP model {ModelId} from onnx/model.onnx; using {LogitScale}", model.Id, options.FallbackLogitScale);
            return options.FallbackLogitScale;
        }
    }

    private static float[][] Rows(OrtValue value)
    {
        var shape = Tensors.Shape(value);
        return ClipTowers.SplitRows(Tensors.ToFloats(value), (int)shape[0], (int)shape[1]);
    }

    private static RgbImage[] ProbeImages(ClipImageProcessor processor)
    {
        int w = processor.Width, h = processor.Height;
        var gradient = new byte[w * h * 3];
        var checker = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var p = (y * w + x) * 3;
                gradient[p] = (byte)(x * 255 / w);
                gradient[p + 1] = (byte)(y * 255 / h);
                gradient[p + 2] = 128;
                var on = ((x / 16) + (y / 16)) % 2 == 0;
                checker[p] = checker[p + 1] = on ? (byte)240 : (byte)20;
                checker[p + 2] = on ? (byte)30 : (byte)200;
            }
        return [RgbImage.Filled(w, h, 200, 40, 40), new RgbImage(w, h, gradient), new RgbImage(w, h, checker)];
    }

    private static (long Bos, long Eos) SpecialIds(ModelDescriptor model)
    {
        if (ReadJson(model.PathOf("config.json")) is { } config && config.TryGetProperty("text_config", out var tc)
            && tc.TryGetProperty("bos_token_id", out var b) && tc.TryGetProperty("eos_token_id", out var e)
            && b.TryGetInt64(out var bos) && e.TryGetInt64(out var eos) && tc.TryGetProperty("vocab_size", out var vs) && vs.TryGetInt64(out var vocab))
        {
            // Legacy CLIP configs say eos 2 while the tokenizer's <|endoftext|> is the highest id (pooled by argmax).
            return eos < 3 ? (vocab - 2, vocab - 1) : (bos, eos);
        }
        return (49406, 49407);
    }

    private static JsonElement? ReadJson(string path)
    {
        try
        {
            if (!File.Exists(path)) return null;
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Dispose() => Towers.Dispose();
}
