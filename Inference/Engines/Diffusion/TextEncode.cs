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
    public static TextEmbeddings Run(DiffusionModel model, IReadOnlyList<long[]> ids, CancellationToken ct = default)
    {
        var seq = ids[0].Length;
        var flat = ids.SelectMany(x => x).ToArray();
        using var input = Tensors.Ids(model.TextEncoder, model.TextInput, flat, ids.Count, seq);
        var output = SessionRun.Floats(model.TextEncoder, [model.TextInput], [input], [model.TextOutput], ct)[0];
        return new TextEmbeddings(output.Data, (int)output.Shape[0], (int)output.Shape[1], (int)output.Shape[2]);
    }
}
