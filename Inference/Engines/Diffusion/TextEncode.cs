using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Text encoder output for the UNet: [batch, sequence, dim] (batch 2 = [uncond, cond] with guidance).</summary>
public sealed record TextEmbeddings(float[] Data, int Batch, int Sequence, int Dim)
{
    public bool Guided => Batch == 2;
}

/// <summary>
/// Stage 2: one text encoder run over all the prompts (ids as the session's dtype: int32 in diffusers' export; the
/// output read as float32 whether the export gives float32 or float16), or one run per prompt when the export's batch is fixed at 1.
/// </summary>
public static class TextEncode
{
    public static TextEmbeddings Run(DiffusionModel model, IReadOnlyList<long[]> ids, CancellationToken ct = default)
    {
        if (model.TextEncoderFixedBatch == 1 && ids.Count > 1)
        {
            var parts = ids.Select(x => Run(model, [x], ct)).ToArray();
            return new TextEmbeddings(parts.SelectMany(p => p.Data).ToArray(), parts.Length, parts[0].Sequence, parts[0].Dim);
        }
        var seq = ids[0].Length;
        var flat = ids.SelectMany(x => x).ToArray();
        using var input = Tensors.Ids(model.TextEncoder, model.TextInput, flat, ids.Count, seq);
        var output = SessionRun.Floats(model.TextEncoder, [model.TextInput], [input], [model.TextOutput], ct)[0];
        return new TextEmbeddings(output.Data, (int)output.Shape[0], (int)output.Shape[1], (int)output.Shape[2]);
    }
}
