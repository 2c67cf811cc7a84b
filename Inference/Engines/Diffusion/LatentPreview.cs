using MultimodalHub.Inference.Imaging;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// Cheap previews of a running image from the scheduler's current clean-latent estimate (x0). Small latents
/// (at most <see cref="VaeLatentArea"/> latent pixels, e.g. 64x64 .. 256x256 images) go through the VAE decoder,
/// which costs about as much as one UNet step there; larger ones use a fixed linear latent-to-RGB projection
/// (the widely used SD 1.x approximation, 4x3 + bias), at latent resolution — no VAE run at all.
/// </summary>
public static class LatentPreview
{
    public const int VaeLatentArea = 32 * 32;

    // SD 1.x latent channel -> RGB factors (as used by A1111/ComfyUI "latent2rgb" previews).
    private static readonly float[,] Sd15 =
    {
        { 0.3512f, 0.2297f, 0.3227f },
        { 0.3250f, 0.4974f, 0.2350f },
        { -0.2829f, 0.1762f, 0.2721f },
        { -0.2120f, -0.2616f, -0.7177f },
    };
    private static readonly float[] Sd15Bias = [-0.0068f, -0.0256f, -0.0303f];

    public static RgbImage Make(DiffusionModel model, float[] x0, int channels, int height, int width, CancellationToken ct = default)
    {
        if (height * width <= VaeLatentArea)
        {
            var decoded = VaeDecode.Run(model, x0, channels, height, width, ct);
            return VaeDecode.ToImage(decoded, width * model.VaeScaleFactor, height * model.VaeScaleFactor);
        }
        return Linear(x0, channels, height, width);
    }

    /// <summary>The linear projection (channels beyond 4 are ignored), mapped from [-1, 1] to 8-bit.</summary>
    public static RgbImage Linear(float[] latents, int channels, int height, int width)
    {
        var plane = height * width;
        var pixels = new byte[plane * 3];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
            {
                float v = Sd15Bias[c];
                for (var k = 0; k < Math.Min(4, channels); k++) v += latents[k * plane + i] * Sd15[k, c];
                pixels[i * 3 + c] = VaeDecode.ToByte(v);
            }
        return new RgbImage(width, height, pixels);
    }
}
