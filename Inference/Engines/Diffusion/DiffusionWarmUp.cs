using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// Warm-up of a Stable Diffusion model at its default size: the text encoder, one UNet step and the VAE decoder, with
/// classifier-free guidance (the batch of two the default requests run).
/// </summary>
internal sealed class DiffusionWarmUp : WarmUp<DiffusionModel>
{
    protected override void Run(DiffusionModel model, CancellationToken ct)
    {
        var timings = new PipelineTimings();
        var text = SdPipeline.EncodePrompts(model, "warm up", "", guidance: 7.5, timings, ct);
        var request = new DenoiseRequest(model.DefaultScheduler, 1, 7.5, model.DefaultWidth, model.DefaultHeight);
        var latents = SdPipeline.Denoise(model, text, request, new GaussianNoise(0), timings, ct);
        SdPipeline.Decode(model, latents, model.DefaultWidth, model.DefaultHeight, timings, ct);
    }
}
