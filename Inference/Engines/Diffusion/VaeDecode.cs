using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Stage 4: latents / scaling_factor through vae_decoder, then pixels = round(clip(x / 2 + 0.5, 0, 1) * 255).</summary>
public static class VaeDecode
{
    /// <summary>Decoder output [1, 3, H*f, W*f] in about [-1, 1].</summary>
    public static float[] Run(DiffusionModel model, float[] latents, int channels, int height, int width, CancellationToken ct = default)
    {
        var scaled = new float[latents.Length];
        var inv = 1.0 / model.ScalingFactor;
        for (var i = 0; i < scaled.Length; i++) scaled[i] = (float)(latents[i] * inv);
        var name = model.VaeDecoder.InputNames[0];
        using var input = Tensors.FloatInput(model.VaeDecoder, name, scaled, 1, channels, height, width);
        return SessionRun.Floats(model.VaeDecoder, [name], [input], [model.VaeDecoder.OutputNames[0]], ct)[0].Data;
    }

    /// <summary>CHW float in [-1, 1] to interleaved 8-bit RGB.</summary>
    public static RgbImage ToImage(float[] chw, int width, int height)
    {
        var plane = width * height;
        var pixels = new byte[plane * 3];
        for (var c = 0; c < 3; c++)
            for (var i = 0; i < plane; i++)
                pixels[i * 3 + c] = ToByte(chw[c * plane + i]);
        return new RgbImage(width, height, pixels);
    }

    public static byte ToByte(float x)
    {
        var v = Math.Clamp(x / 2.0 + 0.5, 0, 1) * 255.0;
        return (byte)Math.Round(v, MidpointRounding.ToEven);
    }
}
