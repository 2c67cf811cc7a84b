using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Diffusion;

/// <summary>
/// The clip-shapes model used directly (its two ONNX towers) as an independent judge of generated images: the shared
/// CLIPImageProcessor (PIL semantics) and zero-shot classification over "a photo of a {label}." for the 24 labels.
/// </summary>
public sealed class ShapesClip : IDisposable
{
    public static readonly string[] Colours = ["red", "green", "blue", "yellow", "purple", "orange"];
    public static readonly string[] Shapes = ["circle", "square", "triangle", "star"];
    public static readonly string[] Labels = [.. Colours.SelectMany(c => Shapes.Select(s => $"{c} {s}"))];
    private readonly ClipImageProcessor _processor = ClipImageProcessor.Load(Repo.Model("clip-shapes", "preprocessor_config.json"));

    private readonly InferenceSession _vision;
    private readonly float[][] _labelEmbeds;

    public ShapesClip()
    {
        using var so = new SessionOptions { IntraOpNumThreads = 2 };
        _vision = new InferenceSession(Repo.Model("clip-shapes", "onnx", "vision_model.onnx"), so);
        using var text = new InferenceSession(Repo.Model("clip-shapes", "onnx", "text_model.onnx"), so);
        var tokenizer = TokenizerLoader.Load(Repo.Model("clip-shapes"));
        _labelEmbeds = Labels.Select(l =>
        {
            var ids = tokenizer.EncodePadded($"a photo of a {l}.", 77);
            using var idValue = Tensors.Int64(ids.InputIds, 1, ids.InputIds.Length);
            using var mask = Tensors.Int64(ids.AttentionMask, 1, ids.AttentionMask.Length);
            using var ro = new RunOptions();
            using var outputs = text.Run(ro, ["input_ids", "attention_mask"], [idValue, mask], ["text_embeds"]);
            return Normalize(Tensors.ToFloats(outputs[0]));
        }).ToArray();
    }

    /// <summary>The most similar label.</summary>
    public string Classify(RgbImage image)
    {
        using var pixels = Tensors.Float(_processor.Preprocess(image), 1, 3, _processor.Size, _processor.Size);
        using var ro = new RunOptions();
        using var outputs = _vision.Run(ro, ["pixel_values"], [pixels], ["image_embeds"]);
        var embed = Normalize(Tensors.ToFloats(outputs[0]));
        var best = 0;
        var bestScore = double.MinValue;
        for (var i = 0; i < Labels.Length; i++)
        {
            var score = 0.0;
            for (var k = 0; k < embed.Length; k++) score += embed[k] * _labelEmbeds[i][k];
            if (score > bestScore) { bestScore = score; best = i; }
        }
        return Labels[best];
    }

    private static float[] Normalize(float[] v)
    {
        var norm = Math.Sqrt(v.Sum(x => (double)x * x));
        return v.Select(x => (float)(x / norm)).ToArray();
    }

    public void Dispose() => _vision.Dispose();
}
