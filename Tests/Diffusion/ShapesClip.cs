using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Diffusion;

/// <summary>
/// The clip-shapes model used directly (ONNX) as the judge of generated images: CLIPImageProcessor preprocessing
/// with PIL's bicubic resize (two separable uint8 passes, as the goldens' pixel_values were made) and zero-shot
/// classification over "a photo of a {label}." for the 24 labels. Test-side only: the CLIP engine is not on this branch.
/// </summary>
public sealed class ShapesClip : IDisposable
{
    public static readonly string[] Colours = ["red", "green", "blue", "yellow", "purple", "orange"];
    public static readonly string[] Shapes = ["circle", "square", "triangle", "star"];
    public static readonly string[] Labels = [.. Colours.SelectMany(c => Shapes.Select(s => $"{c} {s}"))];
    private static readonly float[] Mean = [0.48145466f, 0.4578275f, 0.40821073f];
    private static readonly float[] Std = [0.26862954f, 0.26130258f, 0.27577711f];

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
        using var pixels = Tensors.Float(Preprocess(image), 1, 3, 224, 224);
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

    /// <summary>Square images only (the generated ones): resize to 224 with PIL bicubic, rescale, normalize, CHW.</summary>
    public static float[] Preprocess(RgbImage image)
    {
        const int size = 224;
        var horizontal = ResamplePass(image.Pixels, image.Width, image.Height, size, horizontalPass: true);
        var both = ResamplePass(horizontal, size, image.Height, size, horizontalPass: false);
        var result = new float[3 * size * size];
        for (var i = 0; i < size * size; i++)
            for (var c = 0; c < 3; c++)
                result[c * size * size + i] = (both[i * 3 + c] / 255f - Mean[c]) / Std[c];
        return result;
    }

    /// <summary>One PIL ImagingResample pass with the bicubic filter (a = -0.5), rounding and clamping to uint8.</summary>
    private static byte[] ResamplePass(byte[] src, int width, int height, int outSize, bool horizontalPass)
    {
        var inSize = horizontalPass ? width : height;
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = 2.0 * filterScale;
        var outW = horizontalPass ? outSize : width;
        var outH = horizontalPass ? height : outSize;
        var dst = new byte[outW * outH * 3];
        for (var o = 0; o < outSize; o++)
        {
            var center = (o + 0.5) * scale;
            var min = Math.Max((int)(center - support + 0.5), 0);
            var max = Math.Min((int)(center + support + 0.5), inSize);
            var weights = new double[max - min];
            var sum = 0.0;
            for (var k = 0; k < weights.Length; k++) { weights[k] = Bicubic((k + min - center + 0.5) / filterScale); sum += weights[k]; }
            for (var k = 0; k < weights.Length; k++) weights[k] /= sum;
            var lines = horizontalPass ? height : width;
            for (var line = 0; line < lines; line++)
                for (var c = 0; c < 3; c++)
                {
                    var acc = 0.0;
                    for (var k = 0; k < weights.Length; k++)
                    {
                        var idx = horizontalPass ? (line * width + min + k) : ((min + k) * width + line);
                        acc += src[idx * 3 + c] * weights[k];
                    }
                    var outIdx = horizontalPass ? (line * outW + o) : (o * outW + line);
                    dst[outIdx * 3 + c] = (byte)Math.Clamp(Math.Round(acc, MidpointRounding.AwayFromZero), 0, 255);
                }
        }
        return dst;
    }

    private static double Bicubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    private static float[] Normalize(float[] v)
    {
        var norm = Math.Sqrt(v.Sum(x => (double)x * x));
        return v.Select(x => (float)(x / norm)).ToArray();
    }

    public void Dispose() => _vision.Dispose();
}
