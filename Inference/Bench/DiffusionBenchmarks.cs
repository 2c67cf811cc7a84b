using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Diffusion;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Bench;

/// <summary>Loads the bundled sd-shapes with single-threaded CPU sessions (stable numbers on a shared machine).</summary>
internal static class SdShapes
{
    public static DiffusionModel Load()
    {
        var threads = int.TryParse(Environment.GetEnvironmentVariable("BENCH_ORT_THREADS"), out var t) ? t : 1;
        return new DiffusionModel(new ModelDescriptor("sd-shapes", ModelKind.Diffusion, BenchModels.Dir("sd-shapes"), [], null), path =>
        {
            using var so = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            return new InferenceSession(path, so);
        });
    }
}

/// <summary>
/// One 64x64, 20-step, guidance 7.5 image per scheduler: tokenize + text encoder + 20 batch-2 UNet runs + VAE decode +
/// PNG. At the end prints the pipeline overhead = wall time / time inside ORT runs (aim: at most 1.1).
/// </summary>
[SimpleJob(warmupCount: 3, iterationCount: 12)]
public class DiffusionBenchmarks
{
    private DiffusionModel _model = null!;
    private readonly PipelineTimings _timings = new();
    private readonly Stopwatch _wall = new();
    private long _seed;

    [Params("ddim", "euler", "euler_a", "dpmpp_2m", "lcm")]
    public string Scheduler { get; set; } = "ddim";

    [GlobalSetup]
    public void Setup() => _model = SdShapes.Load();

    [Benchmark(Description = "64x64, 20 steps, CFG 7.5")]
    public byte[] Generate()
    {
        _wall.Start();
        var text = SdPipeline.EncodePrompts(_model, "a red circle", "", 7.5, _timings);
        var latents = SdPipeline.Denoise(_model, text, new DenoiseRequest(Scheduler, 20, 7.5, 64, 64), new GaussianNoise(_seed++), _timings, CancellationToken.None);
        var png = ImageCodec.EncodePng(SdPipeline.Decode(_model, latents, 64, 64, _timings));
        _wall.Stop();
        return png;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var ort = _timings.TextEncode + _timings.Unet + _timings.Vae;
        Console.WriteLine($"// {Scheduler}: wall {_wall.Elapsed.TotalMilliseconds:F0} ms, ORT {ort.TotalMilliseconds:F0} ms " +
            $"(UNet {_timings.Unet.TotalMilliseconds:F0} ms = {_timings.Unet / _wall.Elapsed:P1} of wall), overhead x{_wall.Elapsed / ort:F3}");
        _model.Dispose();
    }
}

/// <summary>Classifier-free guidance: one batch-2 UNet run versus two batch-1 runs (per step).</summary>
[SimpleJob(warmupCount: 3, iterationCount: 15)]
public class CfgBatchBenchmarks
{
    private DiffusionModel _model = null!;
    private TextEmbeddings _both = null!, _uncond = null!, _cond = null!;
    private float[] _latents = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = SdShapes.Load();
        var timings = new PipelineTimings();
        _both = SdPipeline.EncodePrompts(_model, "a red circle", "", 7.5, timings);
        var per = _both.Sequence * _both.Dim;
        _uncond = _both with { Data = _both.Data[..per], Batch = 1 };
        _cond = _both with { Data = _both.Data[per..], Batch = 1 };
        _latents = new GaussianNoise(1).Next(4 * 8 * 8);
    }

    [Benchmark(Baseline = true, Description = "UNet batch 2 [uncond; cond]")]
    public float[] Batch2() => UnetDenoise.RunRaw(_model, _latents, 501, _both, 4, 8, 8);

    [Benchmark(Description = "UNet 2 x batch 1")]
    public float[] TwoBatch1()
    {
        var u = UnetDenoise.RunRaw(_model, _latents, 501, _uncond, 4, 8, 8);
        var c = UnetDenoise.RunRaw(_model, _latents, 501, _cond, 4, 8, 8);
        return [.. u, .. c];
    }

    [GlobalCleanup]
    public void Cleanup() => _model.Dispose();
}
