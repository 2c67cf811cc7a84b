using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>pixel_values → image_features with the vision encoder; token ids → embeddings with embed_tokens.</summary>
public static class VlmEncode
{
    /// <summary>image_features [image_seq_len, hidden] of one image's pixel_values [3, S, S] (single-image layout).</summary>
    public static float[] ImageFeatures(VlmModel model, float[] pixelValues)
    {
        ArgumentNullException.ThrowIfNull(pixelValues);
        return ImageFeatures(model, new VlmPixels(pixelValues, 1, (int)Math.Sqrt(pixelValues.Length / 3)));
    }

    /// <summary>
    /// image_features [tiles × image_seq_len, hidden] of one image's tiles: pixel_values [tiles, 3, S, S] in the
    /// single-image layout; [1, tiles, 3, S, S] with an all-true pixel_attention_mask [1, tiles, S, S] when the encoder
    /// takes them (Idefics3). The encoder may return [tiles, seq, hidden] or [tiles × seq, hidden].
    /// </summary>
    public static float[] ImageFeatures(VlmModel model, VlmPixels pixels, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pixels);
        var (n, s) = (pixels.Tiles, pixels.Side);
        var fiveD = model.Vision.InputMetadata[model.VisionInput].Dimensions.Length == 5;
        long[] shape = fiveD ? [1, n, 3, s, s] : [n, 3, s, s];
        var names = new List<string> { model.VisionInput };
        var inputs = new List<OrtValue>();
        try
        {
            inputs.Add(Tensors.FloatInput(model.Vision, model.VisionInput, pixels.Values, shape));
            if (model.VisionMaskInput is { } maskName)
            {
                names.Add(maskName);
                inputs.Add(OrtValue.CreateTensorValueFromMemory(PixelAttentionMask(n, s), fiveD ? [1, n, s, s] : [n, s, s]));
            }
            var (features, outShape) = SessionRun.Floats(model.Vision, names, inputs, [model.VisionOutput], ct)[0];
            var expected = (long)n * model.ImageSeqLen * model.HiddenSize;
            if (outShape.Length is not (2 or 3) || outShape[^1] != model.HiddenSize || features.Length != expected)
                throw new InvalidDataException($"The vision encoder returned [{string.Join(", ", outShape)}] for {n} image tile(s), expected [{n}, {model.ImageSeqLen}, {model.HiddenSize}].");
            return features;
        }
        finally
        {
            foreach (var v in inputs) v.Dispose();
        }
    }

    /// <summary>Idefics3's pixel_attention_mask for one image's tiles (one conversation, no padded tiles): every pixel true.</summary>
    public static bool[] PixelAttentionMask(int tiles, int side)
    {
        var mask = new bool[checked(tiles * side * side)];
        Array.Fill(mask, true);
        return mask;
    }

    /// <summary>inputs_embeds [ids.Count, hidden] for token ids.</summary>
    public static float[] Embed(VlmModel model, IReadOnlyList<long> ids) => EmbedIds(model, ids.ToArray(), 1, ids.Count);

    /// <summary>Embeddings for a batch of single new tokens ([batch, 1, hidden]).</summary>
    public static float[] EmbedBatch(VlmModel model, long[] tokens) => EmbedIds(model, tokens, tokens.Length, 1);

    private static float[] EmbedIds(VlmModel model, long[] ids, int batch, int length)
    {
        using var input = Tensors.Ids(model.Embed, model.EmbedInput, ids, batch, length);
        return SessionRun.Floats(model.Embed, [model.EmbedInput], [input], [model.EmbedOutput], CancellationToken.None)[0].Data;
    }
}
