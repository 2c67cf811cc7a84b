using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>pixel_values → image_features with the vision encoder; token ids → embeddings with embed_tokens.</summary>
public static class VlmEncode
{
    /// <summary>image_features [image_seq_len, hidden] of one image's pixel_values [3, S, S].</summary>
    public static float[] ImageFeatures(VlmModel model, float[] pixelValues)
    {
        var side = (int)Math.Sqrt(pixelValues.Length / 3);
        using var input = Tensors.FloatInput(model.Vision, model.VisionInput, pixelValues, 1, 3, side, side);
        var (features, shape) = SessionRun.Floats(model.Vision, [model.VisionInput], [input], [model.VisionOutput], CancellationToken.None)[0];
        if (shape.Length != 3 || shape[1] != model.ImageSeqLen || shape[2] != model.HiddenSize)
            throw new InvalidDataException($"The vision encoder returned [{string.Join(", ", shape)}], expected [1, {model.ImageSeqLen}, {model.HiddenSize}].");
        return features;
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
