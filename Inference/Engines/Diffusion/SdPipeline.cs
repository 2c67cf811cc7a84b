using System.Diagnostics;
using MultimodalHub.Inference.Engines.Diffusion.Schedulers;
using MultimodalHub.Inference.Imaging;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>What one image's denoising loop needs besides the text embeddings and the noise.</summary>
/// <param name="InitLatents">Img2img: the clean latents of the init image (VAE-encoded, scaled); null for text-to-image.</param>
/// <param name="Strength">Img2img: the fraction of the schedule run (diffusers: init_timestep = min(int(steps * strength), steps)).</param>
/// <param name="IoBinding">Run the UNet through IO binding (<see cref="UnetRunner"/>; Diffusion:UnetIoBinding).</param>
/// <param name="LatentMask">Inpainting: per latent pixel (H/8 x W/8) how much is repainted (1) or kept from the init latents (0).</param>
public sealed record DenoiseRequest(string Scheduler, int Steps, double GuidanceScale, int Width, int Height, float[]? InitLatents = null, double Strength = 1.0,
    bool IoBinding = true, float[]? LatentMask = null);

/// <summary>After each step: 1-based step of total, and a lazily made preview of the current estimate.</summary>
public sealed record DenoiseStep(int Step, int TotalSteps, Func<RgbImage> Preview);

/// <summary>Time spent in the ORT runs (summed) for the benchmark and the response's timings.</summary>
public sealed class PipelineTimings
{
    public TimeSpan TextEncode { get; set; }
    public TimeSpan Unet { get; set; }
    public TimeSpan Vae { get; set; }
    public int UnetRuns { get; set; }
}

/// <summary>
/// The Stable Diffusion sampling loop (diffusers' OnnxStableDiffusionPipeline / Img2ImgPipeline semantics):
/// start latents = noise * init_noise_sigma (img2img: scheduler.add_noise(encoded image, noise, start step));
/// per step: scale the input, one guided UNet call, scheduler step; cancellation is checked before every step.
/// Inpainting (a <see cref="DenoiseRequest.LatentMask"/>) blends latents as diffusers' legacy inpaint pipeline does: after
/// each step the kept part is replaced by the init latents noised to the next step's level (the clean ones after the last).
/// </summary>
public static class SdPipeline
{
    /// <summary>diffusers img2img: the index of the first step run for a strength.</summary>
    public static int StartIndex(int steps, double strength)
    {
        var initTimestep = Math.Min((int)(steps * strength), steps);
        return Math.Max(steps - initTimestep, 0);
    }

    /// <summary>Runs the loop; returns the final latents (before 1 / scaling_factor). trace gets (step, raw UNet output, latents after).</summary>
    public static float[] Denoise(
        DiffusionModel model, TextEmbeddings text, DenoiseRequest request, INoiseSource noise,
        PipelineTimings timings, CancellationToken ct, Action<DenoiseStep>? onStep = null,
        Action<int, float[], float[]>? trace = null, IDiffusionScheduler? scheduler = null)
    {
        var c = model.LatentChannels;
        var h = request.Height / model.VaeScaleFactor;
        var w = request.Width / model.VaeScaleFactor;
        var count = c * h * w;
        // A fresh scheduler per image (DPM-Solver multistep keeps state); the caller may pass the one it made.
        scheduler ??= SchedulerCatalog.Create(request.Scheduler, model.Scheduler, request.Steps);
        var start = request.InitLatents is null ? 0 : StartIndex(request.Steps, request.Strength);
        var initial = noise.Next(count);
        float[] latents;
        if (request.InitLatents is { } clean)
        {
            if (start >= request.Steps) return clean;
            latents = scheduler.AddNoise(clean, initial, start);
        }
        else
        {
            latents = new float[count];
            var sigma = scheduler.InitNoiseSigma;
            for (var i = 0; i < count; i++) latents[i] = (float)(initial[i] * sigma);
        }

        var total = request.Steps - start;
        using var unet = new UnetRunner(model, text, c, h, w, request.IoBinding);
        for (var i = start; i < request.Steps; i++)
        {
            ct.ThrowIfCancellationRequested();
            var input = scheduler.ScaleModelInput(latents, i);
            var sw = Stopwatch.StartNew();
            var raw = unet.Run(input, scheduler.Timesteps[i], ct);
            timings.Unet += sw.Elapsed;
            timings.UnetRuns += unet.RunsPerStep;
            var eps = text.Guided ? UnetDenoise.Guide(raw, count, request.GuidanceScale) : raw;
            var step = scheduler.Step(eps, i, latents, noise);
            latents = step.PrevSample;
            if (request.LatentMask is { } mask && request.InitLatents is { } keep)
                Blend(latents, i + 1 < request.Steps ? scheduler.AddNoise(keep, initial, i + 1) : keep, mask);
            trace?.Invoke(i, raw, latents);
            if (onStep is not null)
            {
                var x0 = step.PredictedOriginal;
                onStep(new DenoiseStep(i - start + 1, total, () =>
                {
                    var pw = Stopwatch.StartNew();
                    var preview = LatentPreview.Make(model, x0, c, h, w, ct);
                    timings.Vae += pw.Elapsed;
                    return preview;
                }));
            }
        }
        return latents;
    }

    /// <summary>latents = m * latents + (1 - m) * known, the mask broadcast over the channels.</summary>
    public static void Blend(float[] latents, float[] known, float[] mask)
    {
        var plane = mask.Length;
        for (var k = 0; k < latents.Length; k++)
        {
            var m = mask[k % plane];
            latents[k] = m * latents[k] + (1 - m) * known[k];
        }
    }

    /// <summary>A per-pixel edit mask (width x height) to latent resolution: the mean over each factor x factor block.</summary>
    public static float[] LatentMask(float[] mask, int width, int height, int factor)
    {
        var (w, h) = (width / factor, height / factor);
        var result = new float[w * h];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                result[(y / factor) * w + x / factor] += mask[y * width + x];
        var area = factor * factor;
        for (var k = 0; k < result.Length; k++) result[k] /= area;
        return result;
    }

    /// <summary>Final latents to the RGB image.</summary>
    public static RgbImage Decode(DiffusionModel model, float[] latents, int width, int height, PipelineTimings timings, CancellationToken ct = default)
    {
        var sw = Stopwatch.StartNew();
        var decoded = VaeDecode.Run(model, latents, model.LatentChannels, height / model.VaeScaleFactor, width / model.VaeScaleFactor, ct);
        timings.Vae += sw.Elapsed;
        return VaeDecode.ToImage(decoded, width, height);
    }

    /// <summary>The text encoder stage, timed.</summary>
    public static TextEmbeddings EncodePrompts(DiffusionModel model, string prompt, string negativePrompt, double guidance, PipelineTimings timings,
        CancellationToken ct = default)
    {
        var sw = Stopwatch.StartNew();
        var promptIds = DiffusionTokenize.Tokenize(model.Tokenizer, prompt, model.MaxTokens);
        timings.TextEncode += sw.Elapsed;
        return EncodePrompts(model, promptIds, negativePrompt, guidance, timings, ct);
    }

    /// <summary>The text encoder stage for a prompt already tokenized (<see cref="DiffusionTokenize.Tokenize"/>), timed.</summary>
    public static TextEmbeddings EncodePrompts(DiffusionModel model, long[] promptIds, string negativePrompt, double guidance, PipelineTimings timings,
        CancellationToken ct = default)
    {
        var sw = Stopwatch.StartNew();
        var ids = DiffusionTokenize.Batch(model, promptIds, negativePrompt, guided: guidance > 1.0);
        var result = TextEncode.Run(model, ids, ct);
        timings.TextEncode += sw.Elapsed;
        return result;
    }
}
