using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Diffusion.Schedulers;
using MultimodalHub.Inference.Engines.Moderation;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>What a caller wants to hear while images are made (all optional; called on the worker thread).</summary>
public sealed class ImageRunCallbacks
{
    public Action<int, int>? Started { get; init; }
    public Action<ImageJobProgress>? Progress { get; init; }
    /// <summary>(image index 0-based, step 1-based, preview).</summary>
    public Action<int, int, RgbImage>? Preview { get; init; }
    public Action<int, GeneratedImage>? Image { get; init; }
}

/// <summary>
/// Text-to-image and img2img for the API, the job queue and the CLI: validates and plans a request, waits for the
/// model's queue slot, then runs the pipeline for each image of the batch (image i with seed + i) on a worker thread.
/// </summary>
public sealed class DiffusionService(
    ModelRegistry registry,
    LoadedModels loadedModels,
    OrtSessionFactory sessions,
    ModelQueues queues,
    HubMetrics metrics,
    ImageSafetyCheck safety,
    IOptions<DiffusionOptions> options,
    IOptions<ImageLimits> imageLimits,
    ILogger<DiffusionService> log)
{
    public DiffusionOptions Options => options.Value;

    /// <summary>Validate the fields, find the model (404 when unknown), load it and fill in every default.</summary>
    public async Task<ImagePlan> PlanAsync(ImageGenerationRequest request, CancellationToken ct, ImageInput? input = null, bool promptRequired = true)
    {
        ImageRequestValidation.CheckFields(request, options.Value, input is not null, promptRequired);
        var descriptor = registry.Resolve(request.Model, ModelKind.Diffusion);
        using var lease = await AcquireAsync(descriptor, ct);
        return ImageRequestValidation.Plan(request, descriptor, lease.Value, options.Value, imageLimits.Value, input);
    }

    public Task<ModelLease<DiffusionModel>> AcquireAsync(ModelDescriptor descriptor, CancellationToken ct) =>
        loadedModels.AcquireAsync(descriptor, d => new DiffusionModel(d, sessions.Create), ct);

    /// <summary>The model's bounded FIFO (429 when full); onPosition hears the 1-based position, 0 when admitted.</summary>
    public Task<IDisposable> EnterQueueAsync(ImagePlan plan, CancellationToken ct, Action<int>? onPosition = null) =>
        queues.EnterAsync(plan.Model.Id, ct, onPosition);

    /// <summary>Queue, then run (the synchronous API and the CLI).</summary>
    public async Task<ImageGenerationResponse> GenerateAsync(ImagePlan plan, CancellationToken ct, ImageRunCallbacks? callbacks = null, Func<int, INoiseSource>? noiseFor = null)
    {
        var waited = Stopwatch.StartNew();
        using var slot = await EnterQueueAsync(plan, ct);
        return await RunAsync(plan, waited.Elapsed, ct, callbacks, noiseFor);
    }

    /// <summary>Run a plan (the caller holds the queue slot). noiseFor replaces the seeded generator (e.g. given latents).</summary>
    public async Task<ImageGenerationResponse> RunAsync(ImagePlan plan, TimeSpan queued, CancellationToken ct, ImageRunCallbacks? callbacks = null, Func<int, INoiseSource>? noiseFor = null)
    {
        using var lease = await AcquireAsync(plan.Model, ct);
        using var checker = await safety.OpenAsync(ct);
        try
        {
            return await Task.Run(() => Run(lease.Value, plan, queued, callbacks, noiseFor, checker, ct), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException and not InvalidRequestException)
        {
            metrics.Failed(plan.Model.Id, "image");
            log.LogError(e, "Image generation on {ModelId} failed", plan.Model.Id);
            throw;
        }
    }

    private ImageGenerationResponse Run(DiffusionModel model, ImagePlan plan, TimeSpan queued, ImageRunCallbacks? cb, Func<int, INoiseSource>? noiseFor,
        ImageSafetyChecker? checker, CancellationToken ct)
    {
        var safetyTime = TimeSpan.Zero;
        var total = Stopwatch.StartNew();
        var timings = new PipelineTimings();
        // The prompt is tokenized once: for the text encoder, and to tell whether (and where) it was cut.
        var prompt = model.Tokenizer.EncodePadded(plan.Prompt, model.MaxTokens);
        var text = SdPipeline.EncodePrompts(model, prompt.InputIds, plan.NegativePrompt, plan.GuidanceScale, timings, ct);
        var revised = DiffusionTokenize.Revised(model.Tokenizer, prompt);
        float[]? initLatents = null;
        if (plan.InitImage is { } init)
        {
            var sw = Stopwatch.StartNew();
            initLatents = VaeEncode.Run(model, init, ct);
            timings.Vae += sw.Elapsed;
        }
        var start = initLatents is null ? 0 : SdPipeline.StartIndex(plan.Steps, plan.Strength ?? 1);
        var runSteps = plan.Steps - start;
        var latentMask = plan.Mask is { } mask && initLatents is not null ? SdPipeline.LatentMask(mask, plan.Width, plan.Height, model.VaeScaleFactor) : null;
        var request = new DenoiseRequest(plan.Scheduler, plan.Steps, plan.GuidanceScale, plan.Width, plan.Height, initLatents, plan.Strength ?? 1,
            options.Value.UnetIoBinding, latentMask);
        var images = new List<GeneratedImage>();
        var seeds = plan.Seeds.ToList();
        cb?.Started?.Invoke(plan.N, runSteps);
        var loop = Stopwatch.StartNew();
        IReadOnlyList<double> timesteps = [];
        for (var i = 0; i < plan.N; i++)
        {
            ct.ThrowIfCancellationRequested();
            var scheduler = SchedulerCatalog.Create(plan.Scheduler, model.Scheduler, plan.Steps);
            timesteps = scheduler.Timesteps;
            var noise = noiseFor?.Invoke(i) ?? new GaussianNoise(seeds[i]);
            var imageIndex = i;
            var latents = SdPipeline.Denoise(model, text, request, noise, timings, ct, step =>
            {
                var done = imageIndex * runSteps + step.Step;
                var all = plan.N * runSteps;
                var elapsed = loop.Elapsed.TotalSeconds;
                double? eta = done > 0 ? elapsed / done * (all - done) : null;
                cb?.Progress?.Invoke(new ImageJobProgress(imageIndex + 1, plan.N, step.Step, step.TotalSteps, (double)done / all, Math.Round(elapsed, 3), eta is { } e ? Math.Round(e, 3) : null));
                if (cb?.Preview is { } preview && plan.PreviewEvery > 0 && step.Step % plan.PreviewEvery == 0 && step.Step < step.TotalSteps)
                    preview(imageIndex, step.Step, step.Preview());
            }, scheduler: scheduler);
            var image = SdPipeline.Decode(model, latents, plan.Width, plan.Height, timings, ct);
            var png = ImageCodec.EncodePng(image, new Dictionary<string, string> { ["parameters"] = A1111Parameters(plan, seeds[i]) });
            // The safety check runs before the image is reported to anyone (job events, the response, the CLI).
            var checkTime = Stopwatch.StartNew();
            var verdict = checker?.Check(image, ct);
            safetyTime += checkTime.Elapsed;
            if (verdict is { Flagged: true })
                log.LogInformation("Image {Index} (seed {Seed}) on {ModelId} was flagged by the safety check: {Concepts}", i, seeds[i], model.Id,
                    string.Join(", ", verdict.Concepts.Where(c => c.Flagged).Select(c => c.Concept)));
            var generated = new GeneratedImage(Convert.ToBase64String(png), seeds[i], revised, verdict);
            images.Add(generated);
            cb?.Image?.Invoke(i, generated);
        }
        metrics.Images(model.Id, plan.N);
        metrics.Ran(model.Id, "image", total.Elapsed);
        log.LogInformation("Generated {Count} image(s) {Width}x{Height} on {ModelId} with {Scheduler} x{Steps} in {ElapsedMs} ms (UNet {UnetMs} ms, {UnetRuns} runs)",
            plan.N, plan.Width, plan.Height, model.Id, plan.Scheduler, runSteps, total.ElapsedMilliseconds, (long)timings.Unet.TotalMilliseconds, timings.UnetRuns);

        var parameters = plan.ToParameters(timesteps.Skip(start).Select(t => (int)Math.Round(t)).ToList());
        var totalMs = total.Elapsed.TotalMilliseconds;
        var timing = new ImageTimings(Ms(queued), Ms(timings.TextEncode), Ms(timings.Unet), Ms(timings.Vae), Math.Round(totalMs, 2),
            timings.UnetRuns, Math.Round(totalMs / 1000 / plan.N, 4), Ms(safetyTime));
        return new ImageGenerationResponse(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), images, parameters, timing);
    }

    private static double Ms(TimeSpan t) => Math.Round(t.TotalMilliseconds, 2);

    /// <summary>The "parameters" text AUTOMATIC1111 writes into its PNGs (readable by its PNG Info tab and most galleries).</summary>
    public static string A1111Parameters(ImagePlan plan, long seed)
    {
        var inv = CultureInfo.InvariantCulture;
        var sampler = plan.Scheduler switch
        {
            "ddim" => "DDIM",
            "euler" => "Euler",
            "euler_a" => "Euler a",
            "dpmpp_2m" => "DPM++ 2M",
            "dpmpp_2m_karras" => "DPM++ 2M Karras",
            "lcm" => "LCM",
            _ => plan.Scheduler,
        };
        var text = plan.Prompt + "\n";
        if (plan.NegativePrompt.Length > 0) text += "Negative prompt: " + plan.NegativePrompt + "\n";
        text += string.Create(inv, $"Steps: {plan.Steps}, Sampler: {sampler}, CFG scale: {plan.GuidanceScale}, Seed: {seed}, Size: {plan.Width}x{plan.Height}, Model: {plan.Model.Id}");
        if (plan.Strength is { } s) text += string.Create(inv, $", Denoising strength: {s}");
        return text;
    }
}
