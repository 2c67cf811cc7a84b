using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Img2img start: RGB to [-1, 1] CHW, vae_encoder, times scaling_factor (diffusion latents).</summary>
public static class VaeEncode
{
    public static float[] Run(DiffusionModel model, RgbImage image, CancellationToken ct = default)
    {
        var encoder = model.VaeEncoder ?? throw new InvalidRequestException("init_image", $"Model '{model.Id}' has no vae_encoder, so it cannot do img2img.");
        var plane = image.Width * image.Height;
        var chw = new float[plane * 3];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
                chw[c * plane + i] = image.Pixels[i * 3 + c] / 127.5f - 1f;
        var name = encoder.InputNames[0];
        using var input = Tensors.FloatInput(encoder, name, chw, 1, 3, image.Height, image.Width);
        var latents = SessionRun.Floats(encoder, [name], [input], [encoder.OutputNames[0]], ct)[0].Data;
        for (var i = 0; i < latents.Length; i++) latents[i] = (float)(latents[i] * model.ScalingFactor);
        return latents;
    }
}
