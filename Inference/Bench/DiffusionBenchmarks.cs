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
    public static DiffusionModel Load() => Load(BenchModels.Dir("sd-shapes"));

    /// <summary>A diffusers folder: the bundled model, or a fixture of <see cref="Fixture"/> (export variants made by ./hub fixtures).</summary>
    public static DiffusionModel Load(string dir)
    {
        var threads = int.TryParse(Environment.GetEnvironmentVariable("BENCH_ORT_THREADS"), out var t) ? t : 1;
        return new DiffusionModel(ModelRegistry.Describe(dir), path =>
        {
            using var so = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            return new InferenceSession(path, so);
        });
    }

    /// <summary>sd-shapes itself, or a fixture folder under artifacts/fixtures/ (run ./hub fixtures first).</summary>
    public static string Fixture(string name)
    {
        if (name == "sd-shapes") return BenchModels.Dir(name);
        var dir = Path.Combine(Path.GetDirectoryName(BenchModels.Root)!, "artifacts", "fixtures", name);
        return Directory.Exists(dir) ? dir : throw new InvalidOperationException($"Fixture {name} is missing: run ./hub fixtures first.");
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

/// <summary>
/// SD step time with and without UNet IO binding (Diffusion:UnetIoBinding): one image's 20-step Euler loop with CFG 7.5
/// (a batch-2 UNet run and a scheduler step each), reported per step. Plain: fresh OrtValues each step and ORT's own
/// output; bound: OrtValues made once, written in place, output bound (<see cref="UnetRunner"/>). In process.
/// </summary>
[Config(typeof(PairedInProcessConfig))]
public class UnetIoBindingBenchmarks
{
    private const int Steps = 20;
    private DiffusionModel _model = null!;
    private TextEmbeddings _text = null!;
    private readonly PipelineTimings _timings = new();

    /// <summary>Image side: 64 (8x8 latents, the demo's native size) and 256 (32x32 latents).</summary>
    [Params(64, 256)]
    public int Size { get; set; } = 64;

    [GlobalSetup]
    public void Setup()
    {
        _model = SdShapes.Load();
        _text = SdPipeline.EncodePrompts(_model, "a red circle", "", 7.5, _timings);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Steps, Description = "SD step, session.Run")]
    public float[] Plain() => Loop(ioBinding: false);

    [Benchmark(OperationsPerInvoke = Steps, Description = "SD step, IO binding")]
    public float[] Bound() => Loop(ioBinding: true);

    /// <summary>
    /// Both loops in one invocation, alternately, timed apart: a paired comparison that a shared machine's changing load
    /// affects equally. The median per-pair ratio (plain / bound, above 1 when binding is faster) is printed at the end.
    /// </summary>
    [Benchmark(OperationsPerInvoke = 2 * Steps, Description = "SD step, both alternately")]
    public float[] Paired() => _paired.Run(() => Loop(ioBinding: false), () => Loop(ioBinding: true));

    private readonly PairedTiming _paired = new();

    private float[] Loop(bool ioBinding) => SdPipeline.Denoise(_model, _text, new DenoiseRequest("euler", Steps, 7.5, Size, Size, IoBinding: ioBinding),
        new GaussianNoise(1), _timings, CancellationToken.None);

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_paired.Pairs > 0) Console.WriteLine(_paired.Summary($"{Size}x{Size}, {Steps} steps", "session.Run", "IO binding"));
        _model.Dispose();
    }
}

/// <summary>
/// Images/s of the export variants (tests' fixtures from make_diffusion_layouts.py): the fp32 bundled model against the
/// fp16 export (fp16 weights and inputs/outputs; on a CPU ONNX Runtime computes most fp16 nodes through casts to fp32),
/// external data and an int64 timestep; one 64x64 image, 20 Euler steps, CFG 7.5, PNG included.
/// </summary>
[SimpleJob(warmupCount: 2, iterationCount: 10)]
public class DiffusionVariantBenchmarks
{
    private DiffusionModel _model = null!;
    private readonly PipelineTimings _timings = new();

    [Params("sd-shapes", "sd-fp16", "sd-external-data", "sd-timestep-int64")]
    public string Model { get; set; } = "sd-shapes";

    [GlobalSetup]
    public void Setup() => _model = SdShapes.Load(SdShapes.Fixture(Model));

    [Benchmark(Description = "64x64 image, 20 steps, CFG 7.5")]
    public byte[] Image()
    {
        var text = SdPipeline.EncodePrompts(_model, "a red circle", "", 7.5, _timings);
        var latents = SdPipeline.Denoise(_model, text, new DenoiseRequest("euler", 20, 7.5, 64, 64), new GaussianNoise(1), _timings, CancellationToken.None);
        return ImageCodec.EncodePng(SdPipeline.Decode(_model, latents, 64, 64, _timings));
    }

    [GlobalCleanup]
    public void Cleanup() => _model.Dispose();
}

/// <summary>Load time of each export variant: the four sessions (graph optimisation included) and the configs.</summary>
[SimpleJob(warmupCount: 1, iterationCount: 8)]
public class DiffusionLoadBenchmarks
{
    [Params("sd-shapes", "sd-fp16", "sd-external-data")]
    public string Model { get; set; } = "sd-shapes";

    private string _dir = "";

    [GlobalSetup]
    public void Setup() => _dir = SdShapes.Fixture(Model);

    [Benchmark(Description = "load (4 sessions)")]
    public int Load()
    {
        using var model = SdShapes.Load(_dir);
        return model.LatentChannels;
    }
}
