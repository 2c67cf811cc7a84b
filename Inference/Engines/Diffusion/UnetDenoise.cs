using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// Stage 3 (per step): the UNet's noise prediction with classifier-free guidance. With guidance the latent is
/// duplicated and run ONCE as the batch [uncond; cond] (one ORT call, the way diffusers does), then
/// eps = eps_u + g (eps_c - eps_u); with guidance at most 1 (or embeddings of batch 1) only the prompt is run.
/// </summary>
public static class UnetDenoise
{
    /// <summary>Raw UNet output for the given batch of inputs ([B, C, H, W], B = embeddings batch).</summary>
    public static float[] RunRaw(DiffusionModel model, float[] modelInput, double timestep, TextEmbeddings text, int channels, int height, int width,
        CancellationToken ct = default)
    {
        var batch = text.Batch;
        var per = modelInput.Length;
        var sample = new float[per * batch];
        for (var b = 0; b < batch; b++) Array.Copy(modelInput, 0, sample, b * per, per);
        var names = model.UnetNames;
        using var sampleValue = Tensors.Float(sample, batch, channels, height, width);
        using var timestepValue = Timestep(names.TimestepType, timestep, batch);
        using var hidden = Tensors.Float(text.Data, text.Batch, text.Sequence, text.Dim);
        return SessionRun.Floats(model.Unet, [names.Sample, names.Timestep, names.EncoderHiddenStates],
            [sampleValue, timestepValue, hidden], [names.Output], ct)[0].Data;
    }

    /// <summary>eps_u + g (eps_c - eps_u) from the batch-2 output [uncond; cond].</summary>
    public static float[] Guide(float[] raw, int per, double guidance)
    {
        var result = new float[per];
        for (var i = 0; i < per; i++)
        {
            var u = raw[i];
            result[i] = (float)(u + guidance * (raw[per + i] - u));
        }
        return result;
    }

    private static OrtValue Timestep(TensorElementType type, double t, int batch) => type switch
    {
        TensorElementType.Float => Tensors.Float(Enumerable.Repeat((float)t, batch).ToArray(), batch),
        TensorElementType.Int64 => Tensors.Int64(Enumerable.Repeat((long)Math.Round(t), batch).ToArray(), batch),
        TensorElementType.Int32 => Tensors.Int32(Enumerable.Repeat((int)Math.Round(t), batch).ToArray(), batch),
        TensorElementType.Double => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(t, batch).ToArray(), [batch]),
        _ => throw new NotSupportedException($"UNet timestep of type {type} is not supported."),
    };
}
