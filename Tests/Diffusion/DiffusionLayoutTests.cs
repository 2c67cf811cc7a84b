using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Diffusion;
using MultimodalHub.Inference.Engines.Diffusion.Schedulers;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Support;
using static MultimodalHub.Tests.Diffusion.DiffusionGoldenTests;

namespace MultimodalHub.Tests.Diffusion;

/// <summary>
/// The export variants real diffusers repositories ship, made from sd-shapes by Tests/Fixtures/make_diffusion_layouts.py:
/// each loads through the registry and gives the bundled model's (golden) results within a tolerance fitting the variant.
/// </summary>
public sealed class DiffusionLayoutTests(SdShapesFixture fx) : IClassFixture<SdShapesFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The fixture folder through the registry's own checks, loaded with plain CPU sessions.</summary>
    internal static DiffusionModel Load(string fixture)
    {
        var descriptor = ModelRegistry.Describe(Fixtures.Dir(fixture));
        Assert.True(descriptor.IsValid, $"{fixture}: {descriptor.Error}");
        Assert.Equal(ModelKind.Diffusion, descriptor.Kind);
        return new DiffusionModel(descriptor, path =>
        {
            using var so = new SessionOptions { IntraOpNumThreads = 2 };
            return new InferenceSession(path, so);
        });
    }

    /// <summary>A golden case run on a model: final latents, and the UNet calls made.</summary>
    private static (float[] Latents, int UnetRuns) RunCase(DiffusionModel model, JsonElement c, bool ioBinding = true)
    {
        var text = TextEncode.Run(model, [SdShapesFixture.Ids(c, "negative_input_ids"), SdShapesFixture.Ids(c, "input_ids")], Ct);
        INoiseSource noise = c.GetProperty("files").TryGetProperty("step_noise", out _)
            ? new GivenNoise(SdShapesFixture.Npy(c, "noise").Data, SdShapesFixture.Npy(c, "step_noise").Data)
            : new GivenNoise(SdShapesFixture.Npy(c, "noise").Data);
        var timings = new PipelineTimings();
        var request = new DenoiseRequest(SchedulerCatalog.Normalize(c.GetProperty("scheduler").GetString()!)!, c.GetProperty("steps").GetInt32(),
            c.GetProperty("guidance_scale").GetDouble(), 64, 64, IoBinding: ioBinding);
        return (SdPipeline.Denoise(model, text, request, noise, timings, Ct), timings.UnetRuns);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Unet_with_batch_fixed_at_one_runs_guidance_as_two_calls_with_the_batch_two_result(bool ioBinding)
    {
        using var model = Load("sd-unet-batch1");
        Assert.Equal(1, model.UnetNames.FixedBatch);
        Assert.Null(fx.Model.UnetNames.FixedBatch);
        foreach (var id in new[] { "p0_ddim", "p1_euler_a" })
        {
            var c = fx.Case(id);
            var (latents, runs) = RunCase(model, c, ioBinding);
            Assert.Equal(40, runs);
            AssertClose(SdShapesFixture.Npy(c, "final_latents").Data, latents, 1e-3, $"{id} on the batch-1 UNet");
        }
    }

    [Fact]
    public void Unet_taking_an_int64_timestep_gives_the_float_timestep_result()
    {
        using var model = Load("sd-timestep-int64");
        Assert.Equal(TensorElementType.Int64, model.UnetNames.TimestepType);
        Assert.Equal(TensorElementType.Float, fx.Model.UnetNames.TimestepType);
        foreach (var id in new[] { "p0_ddim", "p2_euler" })
        {
            var c = fx.Case(id);
            var (latents, runs) = RunCase(model, c);
            Assert.Equal(20, runs);
            AssertClose(SdShapesFixture.Npy(c, "final_latents").Data, latents, 1e-3, $"{id} with an int64 timestep");
        }
    }

    [Fact]
    public void Sd_turbo_folder_runs_one_euler_step_at_999_without_the_unconditional_half()
    {
        using var model = Load("sd-turbo-shapes");
        Assert.Equal("euler", model.DefaultScheduler);
        Assert.Equal("trailing", model.Scheduler.TimestepSpacing);
        Assert.Equal(1, model.DefaultSteps);
        Assert.Equal(0.0, model.DefaultGuidance);
        Assert.Null(fx.Model.DefaultSteps);

        // The request's defaults come from the model: one step, no guidance, its Euler scheduler.
        var plan = ImageRequestValidation.Plan(new ImageGenerationRequest { Prompt = "a red circle", Seed = 5 }, model.Descriptor, model,
            new DiffusionOptions(), new ImageLimits());
        Assert.Equal((1, 0.0, "euler"), (plan.Steps, plan.GuidanceScale, plan.Scheduler));

        var timings = new PipelineTimings();
        var text = SdPipeline.EncodePrompts(model, plan.Prompt, plan.NegativePrompt, plan.GuidanceScale, timings, Ct);
        Assert.Equal(1, text.Batch);
        var scheduler = SchedulerCatalog.Create(plan.Scheduler, model.Scheduler, plan.Steps);
        Assert.Equal([999.0], scheduler.Timesteps);
        var latents = SdPipeline.Denoise(model, text, new DenoiseRequest(plan.Scheduler, plan.Steps, plan.GuidanceScale, 64, 64),
            new GaussianNoise(5), timings, Ct);
        Assert.Equal(1, timings.UnetRuns);

        // One Euler step to sigma 0 lands on x0 = x - sigma eps(x / sqrt(sigma^2 + 1), 999), x = noise * sigma (trailing:
        // init_noise_sigma = sigma_max), computed here on the bundled model with its own text embeddings.
        var sigma = scheduler.Sigmas![0];
        Assert.Equal(sigma, scheduler.InitNoiseSigma, 1e-12);
        var noise = new GaussianNoise(5).Next(4 * 8 * 8);
        var x = noise.Select(n => (float)(n * sigma)).ToArray();
        var bundledText = TextEncode.Run(fx.Model, [DiffusionTokenize.Tokenize(fx.Model.Tokenizer, "a red circle", 77)], Ct);
        var eps = UnetDenoise.RunRaw(fx.Model, x.Select(v => (float)(v / Math.Sqrt(sigma * sigma + 1))).ToArray(), 999, bundledText, 4, 8, 8, Ct);
        var expected = x.Select((v, i) => (float)(v - sigma * eps[i])).ToArray();
        AssertClose(expected, latents, 1e-4, "one-step latents");
        var image = SdPipeline.Decode(model, latents, 64, 64, timings, Ct);
        Assert.Equal((64, 64), (image.Width, image.Height));
    }

    [Fact]
    public void Fp16_export_takes_and_returns_float16_and_draws_the_fp32_image_within_a_few_levels()
    {
        using var model = Load("sd-fp16");
        Assert.Equal("fp16", model.Precision);
        Assert.Equal("fp32", fx.Model.Precision);
        Assert.Equal(TensorElementType.Float16, model.UnetNames.TimestepType);
        Assert.Equal(TensorElementType.Float16, model.UnetNames.HiddenType);
        Assert.Equal(TensorElementType.Float16, model.TextEncoder.OutputMetadata[model.TextOutput].ElementDataType);
        Assert.Equal(TensorElementType.Float16, model.VaeDecoder.InputMetadata[model.VaeDecoder.InputNames[0]].ElementDataType);

        var c0 = fx.Case("p0_ddim");
        var text = TextEncode.Run(model, [SdShapesFixture.Ids(c0, "negative_input_ids"), SdShapesFixture.Ids(c0, "input_ids")], Ct);
        AssertClose(SdShapesFixture.Npy(c0, "text_embeddings").Data, text.Data, 0.05, "fp16 text embeddings");
        foreach (var id in new[] { "p0_ddim", "p1_euler", "p2_euler_a" })
        {
            var c = fx.Case(id);
            var (latents, runs) = RunCase(model, c);
            Assert.Equal(20, runs);
            var image = SdPipeline.Decode(model, latents, 64, 64, new PipelineTimings(), Ct);
            var golden = VaeDecode.ToImage(SdShapesFixture.Npy(c, "decoded").Data, 64, 64);
            var diffs = image.Pixels.Zip(golden.Pixels, (a, b) => Math.Abs(a - b)).ToArray();
            var (max, mean) = (diffs.Max(), diffs.Average());
            TestContext.Current.TestOutputHelper?.WriteLine($"{id}: fp16 vs fp32 golden image: mean {mean:F3}, max {max} levels of 255");
            Assert.True(mean <= 0.5 && max <= 4, $"{id}: fp16 image differs from the fp32 golden by mean {mean:F2}, max {max} levels of 255");
        }
    }

    [Fact]
    public void External_data_weights_load_beside_the_graphs_and_give_the_golden_latents()
    {
        using var model = Load("sd-external-data");
        var files = model.Descriptor.Files;
        Assert.Contains("unet/weights.pb", files);
        Assert.Contains("text_encoder/model.onnx_data", files);
        Assert.True(new FileInfo(model.Descriptor.PathOf("unet/model.onnx")).Length < 1_000_000, "the UNet graph holds no weights");
        // No unet/ or vae_decoder/ config.json (diffusers' own exporter): SD 1.5's sizes are assumed.
        Assert.Equal((512, 512, 64, 0.18215), (model.DefaultWidth, model.DefaultHeight, model.SizeMultiple, model.ScalingFactor));
        var c = fx.Case("p0_ddim");
        var (latents, _) = RunCase(model, c);
        AssertClose(SdShapesFixture.Npy(c, "final_latents").Data, latents, 1e-3, "external data");
    }

    [Fact]
    public void Sd15_configs_give_512_by_512_with_multiples_of_64_and_the_pndm_fallback()
    {
        using var model = Load("sd15-layout");
        Assert.Equal((512, 512, 8, 64, 0.18215), (model.DefaultWidth, model.DefaultHeight, model.VaeScaleFactor, model.SizeMultiple, model.ScalingFactor));
        Assert.Equal("PNDMScheduler", model.Scheduler.ClassName);
        Assert.Equal("ddim", model.DefaultScheduler);
        var options = new DiffusionOptions();
        var plan = ImageRequestValidation.Plan(new ImageGenerationRequest { Prompt = "a red circle", Seed = 3, Steps = 1, GuidanceScale = 1 }, model.Descriptor, model,
            options, new ImageLimits());
        Assert.Equal((512, 512, 1), (plan.Width, plan.Height, plan.Steps));
        var e = Assert.Throws<InvalidRequestException>(() => ImageRequestValidation.Plan(
            new ImageGenerationRequest { Prompt = "x", Size = "96x96" }, model.Descriptor, model, options, new ImageLimits()));
        Assert.Equal("size", e.Field);

        // 512x512 = 64x64 latents through the same weights as the bundled model.
        var timings = new PipelineTimings();
        var request = new DenoiseRequest(plan.Scheduler, 1, 1.0, 512, 512);
        var latents = SdPipeline.Denoise(model, SdPipeline.EncodePrompts(model, plan.Prompt, "", 1.0, timings, Ct), request, new GaussianNoise(3), timings, Ct);
        Assert.Equal(4 * 64 * 64, latents.Length);
        var bundled = SdPipeline.Denoise(fx.Model, SdPipeline.EncodePrompts(fx.Model, plan.Prompt, "", 1.0, timings, Ct), request, new GaussianNoise(3), timings, Ct);
        AssertClose(bundled, latents, 1e-5, "512x512 latents");
        var image = SdPipeline.Decode(model, latents, 512, 512, timings, Ct);
        Assert.Equal((512, 512), (image.Width, image.Height));
    }

    [Fact]
    public void Unet_with_sdxl_inputs_is_refused_at_load_naming_them()
    {
        var descriptor = ModelRegistry.Describe(Fixtures.Dir("sd-unet-sdxl-inputs"));
        var e = Assert.Throws<InvalidDataException>(() => new DiffusionModel(descriptor, path => new InferenceSession(path)));
        Assert.Contains("text_embeds, time_ids", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Io_binding_and_plain_runs_give_the_same_latents()
    {
        foreach (var id in new[] { "p0_ddim", "p0_euler_a" })
        {
            var c = fx.Case(id);
            var (bound, _) = RunCase(fx.Model, c, ioBinding: true);
            var (plain, _) = RunCase(fx.Model, c, ioBinding: false);
            AssertClose(plain, bound, 1e-6, $"{id} with and without IO binding");
        }
        using var runner = new UnetRunner(fx.Model, TextEncode.Run(fx.Model, [[1388, 1389], [1388, 1389]], Ct), 4, 8, 8, ioBinding: true);
        Assert.True(runner.IoBinding);
        Assert.Equal(1, runner.RunsPerStep);
    }
}
