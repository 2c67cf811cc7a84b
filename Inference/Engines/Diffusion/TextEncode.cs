using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Text encoder output for the UNet: [batch, sequence, dim] (batch 2 = [uncond, cond] with guidance).</summary>
public sealed record TextEmbeddings(float[] Data, int Batch, int Sequence, int Dim)
{
    public bool Guided => Batch == 2;
}

/// <summary>Stage 2: one text encoder run over all the prompts (ids as the session's dtype: int32 in diffusers' export).</summary>
public static class TextEncode
{
    public static TextEmbeddings Run(DiffusionModel model, IReadOnlyList<long[]> ids)
    {
        var seq = ids[0].Length;
        var flat = ids.SelectMany(x => x).ToArray();
        using var input = Tensors.Ids(model.TextEncoder, model.TextInput, flat, ids.Count, seq);
        using var outputs = model.TextEncoder.Run(new Microsoft.ML.OnnxRuntime.RunOptions(), [model.TextInput], [input], [model.TextOutput]);
        var shape = Tensors.Shape(outputs[0]);
        return new TextEmbeddings(Tensors.ToFloats(outputs[0]), (int)shape[0], (int)shape[1], (int)shape[2]);
    }
}
