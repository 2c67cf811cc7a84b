using System.Text.Json;
using MultimodalHub.Inference.Engines.Diffusion;
using MultimodalHub.Inference.Engines.Diffusion.Schedulers;

namespace MultimodalHub.Tests.Diffusion;

/// <summary>The engine against sd-shapes' goldens (computed with onnxruntime by the reference sampler).</summary>
public sealed class DiffusionGoldenTests(SdShapesFixture fx) : IClassFixture<SdShapesFixture>
{
    public static TheoryData<string> CaseIds => new(
        "p0_ddim", "p0_euler", "p0_euler_a", "p1_ddim", "p1_euler", "p1_euler_a", "p2_ddim", "p2_euler", "p2_euler_a");

    private static string SchedulerOf(JsonElement c) => SchedulerCatalog.Normalize(c.GetProperty("scheduler").GetString()!)!;

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Timesteps_sigmas_and_alphas_equal_the_goldens(string id)
    {
        var c = fx.Case(id);
        var steps = c.GetProperty("steps").GetInt32();
        var scheduler = SchedulerCatalog.Create(SchedulerOf(c), fx.Model.Scheduler, steps);
        var expected = c.GetProperty("timesteps").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(expected, scheduler.Timesteps);
        Assert.Equal(c.GetProperty("init_noise_sigma").GetDouble(), scheduler.InitNoiseSigma, 1e-9);
        var schedule = c.GetProperty("schedule").EnumerateArray().ToArray();
        for (var i = 0; i < steps; i++)
        {
            var s = schedule[i];
            Assert.Equal(s.GetProperty("t").GetDouble(), scheduler.Timesteps[i]);
            switch (scheduler)
            {
                case DdimScheduler ddim:
                    Assert.Equal(s.GetProperty("alpha_cumprod_t").GetDouble(), ddim.AlphaAt(i), 1e-12);
                    Assert.Equal(s.GetProperty("alpha_cumprod_prev").GetDouble(), ddim.AlphaPrevAt(i), 1e-12);
                    break;
                case EulerScheduler euler:
                    Assert.Equal(s.GetProperty("sigma").GetDouble(), euler.Sigmas![i], 1e-9);
                    Assert.Equal(s.GetProperty("sigma_next").GetDouble(), euler.Sigmas![i + 1], 1e-9);
                    var scaled = euler.ScaleModelInput([1f], i)[0];
                    Assert.Equal(s.GetProperty("input_scale").GetDouble(), scaled, 1e-6);
                    if (euler is EulerAncestralScheduler a)
                    {
                        var (up, down) = a.UpDown(i);
                        Assert.Equal(s.GetProperty("sigma_up").GetDouble(), up, 1e-9);
                        Assert.Equal(s.GetProperty("sigma_down").GetDouble(), down, 1e-9);
                    }
                    break;
            }
        }
    }

    [Fact]
    public void Text_encoder_matches_the_golden_embeddings()
    {
        foreach (var id in new[] { "p0_ddim", "p1_ddim", "p2_ddim" })
        {
            var c = fx.Case(id);
            var emb = TextEncode.Run(fx.Model, [SdShapesFixture.Ids(c, "negative_input_ids"), SdShapesFixture.Ids(c, "input_ids")], TestContext.Current.CancellationToken);
            var golden = SdShapesFixture.Npy(c, "text_embeddings");
            Assert.Equal(golden.Shape, new long[] { emb.Batch, emb.Sequence, emb.Dim });
            AssertClose(golden.Data, emb.Data, 1e-4, $"{id} text embeddings");
        }
    }

    [Fact]
    public void Ddim_step_trace_matches_model_outputs_and_latents_step_by_step()
    {
        var c = fx.Case("p0_ddim");
        var text = Embeddings(c);
        var traceLatents = SdShapesFixture.Npy(c, "trace_latents");
        var traceOutputs = SdShapesFixture.Npy(c, "trace_model_output");
        var per = 4 * 8 * 8;
        var noise = new GivenNoise(SdShapesFixture.Npy(c, "noise").Data);
        var steps = 0;
        SdPipeline.Denoise(fx.Model, text, Request(c), noise, new PipelineTimings(), TestContext.Current.CancellationToken,
            trace: (i, raw, after) =>
            {
                AssertClose(traceOutputs.Data.AsSpan(i * 2 * per, 2 * per).ToArray(), raw, 1e-3, $"model output at step {i}");
                AssertClose(traceLatents.Data.AsSpan((i + 1) * per, per).ToArray(), after, 1e-3, $"latents after step {i}");
                steps++;
            });
        Assert.Equal(20, steps);
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Final_latents_and_image_match_the_golden(string id)
    {
        var c = fx.Case(id);
        var text = Embeddings(c);
        INoiseSource noise = c.GetProperty("files").TryGetProperty("step_noise", out _)
            ? new GivenNoise(SdShapesFixture.Npy(c, "noise").Data, SdShapesFixture.Npy(c, "step_noise").Data)
            : new GivenNoise(SdShapesFixture.Npy(c, "noise").Data);
        var timings = new PipelineTimings();
        var latents = SdPipeline.Denoise(fx.Model, text, Request(c), noise, timings, TestContext.Current.CancellationToken);
        AssertClose(SdShapesFixture.Npy(c, "final_latents").Data, latents, 1e-3, $"{id} final latents");

        var decoded = VaeDecode.Run(fx.Model, latents, 4, 8, 8, TestContext.Current.CancellationToken);
        var goldenDecoded = SdShapesFixture.Npy(c, "decoded");
        AssertClose(goldenDecoded.Data, decoded, 1e-3, $"{id} decoded");
        var image = SdPipeline.Decode(fx.Model, latents, 64, 64, timings, TestContext.Current.CancellationToken);
        var expected = VaeDecode.ToImage(goldenDecoded.Data, 64, 64);
        Assert.Equal((expected.Width, expected.Height), (image.Width, image.Height));
        Assert.Equal(expected.Pixels.Length, image.Pixels.Length);
        var maxDiff = image.Pixels.Zip(expected.Pixels, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff <= 2, $"{id}: max pixel difference {maxDiff} > 2/255");
        Assert.Equal(20, timings.UnetRuns);
    }

    private TextEmbeddings Embeddings(JsonElement c) =>
        TextEncode.Run(fx.Model, [SdShapesFixture.Ids(c, "negative_input_ids"), SdShapesFixture.Ids(c, "input_ids")]);

    private static DenoiseRequest Request(JsonElement c) => new(
        SchedulerOf(c), c.GetProperty("steps").GetInt32(), c.GetProperty("guidance_scale").GetDouble(), 64, 64);

    internal static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"{what}: max |diff| {worst:g4} > {tolerance:g4}");
    }
}
