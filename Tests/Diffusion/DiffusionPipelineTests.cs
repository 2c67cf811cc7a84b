using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Engines.Diffusion;
using MultimodalHub.Inference.Engines.Diffusion.Schedulers;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Tests.Core;

namespace MultimodalHub.Tests.Diffusion;

/// <summary>Tokenizer, guidance, seeded noise, scheduler set-up and the imagine CLI.</summary>
public sealed class DiffusionPipelineTests(SdShapesFixture fx) : IClassFixture<SdShapesFixture>
{
    [Fact]
    public void Tokenizer_gives_the_golden_ids_for_prompt_and_negative_prompt()
    {
        foreach (var c in fx.AllCases)
        {
            var ids = DiffusionTokenize.Batch(fx.Model, c.GetProperty("prompt").GetString()!, c.GetProperty("negative_prompt").GetString()!, guided: true);
            Assert.Equal(SdShapesFixture.Ids(c, "negative_input_ids"), ids[0]);
            Assert.Equal(SdShapesFixture.Ids(c, "input_ids"), ids[1]);
        }
    }

    [Fact]
    public void Guidance_at_most_one_runs_the_prompt_alone()
    {
        var timings = new PipelineTimings();
        var text = SdPipeline.EncodePrompts(fx.Model, "a red circle", "a blue star", 1.0, timings, ct: TestContext.Current.CancellationToken);
        Assert.Equal(1, text.Batch);
        var latents = SdPipeline.Denoise(fx.Model, text, new DenoiseRequest("euler", 4, 1.0, 64, 64), new GaussianNoise(3), timings, TestContext.Current.CancellationToken);
        Assert.Equal(4 * 8 * 8, latents.Length);
        Assert.All(latents, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(2, SdPipeline.EncodePrompts(fx.Model, "a red circle", "", 1.5, timings, ct: TestContext.Current.CancellationToken).Batch);
    }

    [Fact]
    public void Seeded_noise_is_standard_normal_and_the_same_for_the_same_seed()
    {
        var a = new GaussianNoise(11).Next(100_000);
        Assert.Equal(a, new GaussianNoise(11).Next(100_000));
        Assert.NotEqual(a[..64], new GaussianNoise(12).Next(64));
        var mean = a.Average(x => (double)x);
        var variance = a.Average(x => (x - mean) * (x - mean));
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(variance, 0.98, 1.02);
        // pinned values, computed by an independent Python implementation of the documented generator
        // (SplitMix64 -> xoshiro256**, top 53 bits, Box-Muller with 1 - u1): seeds must give the same images forever
        double[] seed0 = [-0.01896499060631051, -1.3559302271143727, -0.40372109705088766, 0.23335097938940202];
        double[] seed11 = [0.6067351097783689, 0.37041641789966706, -0.703850498343298, 0.2595386611168741];
        Assert.Equal(seed0, new GaussianNoise(0).Next(4).Select(x => (double)x), (x, y) => Math.Abs(x - y) < 1e-6);
        Assert.Equal(seed11, new GaussianNoise(11).Next(4).Select(x => (double)x), (x, y) => Math.Abs(x - y) < 1e-6);
    }

    [Fact]
    public void Cancellation_stops_before_the_next_step()
    {
        using var cts = new CancellationTokenSource();
        var timings = new PipelineTimings();
        var text = SdPipeline.EncodePrompts(fx.Model, "a red circle", "", 7.5, timings, ct: TestContext.Current.CancellationToken);
        Assert.ThrowsAny<OperationCanceledException>(() => SdPipeline.Denoise(fx.Model, text, new DenoiseRequest("ddim", 50, 7.5, 64, 64),
            new GaussianNoise(1), timings, cts.Token, step => { if (step.Step == 3) cts.Cancel(); }));
        Assert.Equal(3, timings.UnetRuns);
    }

    [Fact]
    public void Cancellation_interrupts_a_running_unet_call()
    {
        // One UNet call on a large latent takes far longer than the 20 ms after which the token fires; the run is
        // terminated inside ORT (RunOptions.Terminate) and surfaces as a cancellation, not an ORT error.
        var timings = new PipelineTimings();
        var text = SdPipeline.EncodePrompts(fx.Model, "a red circle", "", 7.5, timings, ct: TestContext.Current.CancellationToken);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => SdPipeline.Denoise(fx.Model, text, new DenoiseRequest("euler", 1, 7.5, 2048, 2048),
            new GaussianNoise(1), timings, cts.Token));
        Assert.Equal(0, timings.UnetRuns);
        Assert.True(cts.IsCancellationRequested);
    }

    [Theory]
    [InlineData("leading", new double[] { 751, 501, 251, 1 })]
    [InlineData("trailing", new double[] { 999, 749, 499, 249 })]
    [InlineData("linspace", new double[] { 999, 666, 333, 0 })]
    public void Ddim_timestep_spacings_follow_diffusers(string spacing, double[] expected)
    {
        var config = fx.Model.Scheduler with { TimestepSpacing = spacing, StepsOffset = spacing == "leading" ? 1 : 0 };
        Assert.Equal(expected, new DdimScheduler(config, 4).Timesteps);
    }

    [Fact]
    public void Dpm_solver_and_karras_and_lcm_schedules_follow_diffusers()
    {
        var dpm = new DpmSolverMultistepScheduler(fx.Model.Scheduler, 4, karras: false);
        Assert.Equal(new double[] { 801, 601, 401, 201 }, dpm.Timesteps);
        Assert.Equal(0, dpm.Sigmas![^1]);
        var karras = new DpmSolverMultistepScheduler(fx.Model.Scheduler, 4, karras: true);
        Assert.Equal(5, karras.Sigmas!.Count);
        Assert.True(karras.Sigmas.Zip(karras.Sigmas.Skip(1)).All(p => p.First > p.Second), "Karras sigmas decrease");
        Assert.Equal(999, karras.Timesteps[0]);
        Assert.Equal(new double[] { 999, 759, 499, 259 }, new LcmScheduler(fx.Model.Scheduler, 4).Timesteps);
    }
}

/// <summary>`imagine` through the host's own command (same DI as the CLI).</summary>
public sealed class ImagineCommandTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    [Fact]
    public async Task Imagine_with_the_golden_latents_and_step_noise_reproduces_the_golden_image()
    {
        var command = fixture.Factory.Services.GetServices<ICliCommand>().Single(c => c.Name == "imagine");
        var dir = Directory.CreateTempSubdirectory("imagine-");
        try
        {
            var output = Path.Combine(dir.FullName, "circle.png");
            var stdout = new StringWriter();
            var code = await command.RunAsync(new CliArgs([
                "--prompt", "a red circle", "--scheduler", "euler-a", "--steps", "20", "--guidance", "7.5",
                "--latents", SdShapesFixture.Golden("p0_euler_a_noise.npy"), "--step-noise", SdShapesFixture.Golden("p0_euler_a_step_noise.npy"),
                "--out", output]), stdout, TestContext.Current.CancellationToken);
            Assert.Equal(0, code);
            var json = JsonDocument.Parse(stdout.ToString()).RootElement;
            Assert.Equal(output, json.GetProperty("images")[0].GetProperty("path").GetString());
            Assert.Equal("euler_a", json.GetProperty("parameters").GetProperty("scheduler").GetString());
            Assert.Equal("latents", json.GetProperty("noise").GetString());
            var image = ImageCodec.Decode(File.ReadAllBytes(output), new ImageLimits());
            var golden = ImageCodec.Decode(File.ReadAllBytes(SdShapesFixture.Golden("p0_euler_a_image.png")), new ImageLimits());
            Assert.Equal((golden.Width, golden.Height), (image.Width, image.Height));
            Assert.Equal(golden.Pixels.Length, image.Pixels.Length);
            Assert.True(image.Pixels.Zip(golden.Pixels, (a, b) => Math.Abs(a - b)).Max() <= 2);

            stdout = new StringWriter();
            Assert.Equal(0, await command.RunAsync(new CliArgs(["--prompt", "a blue star", "--seed", "11", "--n", "2", "--steps", "4", "--out", output]), stdout, TestContext.Current.CancellationToken));
            var batch = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("images");
            Assert.Equal([11L, 12L], batch.EnumerateArray().Select(e => e.GetProperty("seed").GetInt64()));
            Assert.True(File.Exists(Path.Combine(dir.FullName, "circle-2.png")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
