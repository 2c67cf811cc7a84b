using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Diffusion;
using MultimodalHub.Inference.Engines.Moderation;
using MultimodalHub.Inference.Hosting;
using MultimodalHub.Inference.Imaging;

namespace MultimodalHub.Bench;

/// <summary>
/// What the image safety check adds to each generated image, against the generation itself: sd-shapes makes one
/// 64x64 image as the service does by default (DDIM, 20 steps, CFG 7.5, PNG encoded), then the check embeds it with
/// the bundled CLIP (clip-shapes) and scores it against the shipped demo concept ("a purple star", 0.6). "open + check"
/// is what a one-image job pays: taking the (cached) CLIP model and the concept embeddings (text cache), then the check.
/// All sessions on one ONNX Runtime thread. The Ratio column is the check's time ÷ the generation's; "paired" runs a
/// generation and a check alternately and prints the per-pair ratio generation ÷ check (<see cref="PairedTiming"/>: wall
/// and the calling thread's CPU time, which a shared machine's load moves less). Run:
/// ./hub bench '*SafetyCheckBenchmarks*'
/// </summary>
[Config(typeof(PairedInProcessConfig))]
public class SafetyCheckBenchmarks
{
    private const string Prompt = "a purple star";
    private IHost _host = null!;
    private ImageSafetyCheck _check = null!;
    private ImageSafetyChecker _checker = null!;
    private DiffusionModel _sd = null!;
    private readonly PipelineTimings _timings = new();
    private RgbImage _image = null!;
    private long _seed = 1;

    [GlobalSetup]
    public void Setup()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Inference:ModelRoots:0"] = BenchModels.Root,
            ["Inference:IntraOpThreads"] = "1",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Safety:Model"] = "clip-shapes",
            ["Safety:Concepts:0:Text"] = Prompt,
            ["Safety:Concepts:0:Threshold"] = "0.6",
            ["Safety:Concepts:0:Category"] = "violence",
        });
        builder.Services.AddInferenceCore(builder.Configuration);
        _host = builder.Build();
        _check = _host.Services.GetRequiredService<ImageSafetyCheck>();
        _checker = _check.OpenAsync(default).GetAwaiter().GetResult() ?? throw new InvalidOperationException("The safety check is off.");
        _sd = SdShapes.Load();
        _image = Image(_seed);
        var verdict = _checker.Check(_image, default);
        Console.WriteLine($"// the benchmark's image: flagged {verdict.Flagged}, similarity to '{Prompt}' {verdict.Concepts[0].Similarity}");
    }

    [Benchmark(Baseline = true, Description = "SD image: 64x64, DDIM 20 steps, CFG 7.5, PNG")]
    public byte[] Generate() => ImageCodec.EncodePng(Image(_seed++));

    [Benchmark(Description = "safety check of the image (CLIP embed + concepts)")]
    public ImageSafety Check() => _checker.Check(_image, default);

    [Benchmark(Description = "open + check (a one-image job's cost)")]
    public ImageSafety OpenAndCheck()
    {
        using var checker = _check.OpenAsync(default).GetAwaiter().GetResult()!;
        return checker.Check(_image, default);
    }

    /// <summary>A generation and a check, alternately first; the check's share is printed at the end.</summary>
    [Benchmark(OperationsPerInvoke = 2, Description = "paired: generation and check alternately")]
    public object Paired() => _paired.Run<object>(() => ImageCodec.EncodePng(Image(_seed++)), () => _checker.Check(_image, default));

    private readonly PairedTiming _paired = new();

    private RgbImage Image(long seed)
    {
        var text = SdPipeline.EncodePrompts(_sd, Prompt, "", 7.5, _timings);
        var latents = SdPipeline.Denoise(_sd, text, new DenoiseRequest("ddim", 20, 7.5, 64, 64), new GaussianNoise(seed), _timings, CancellationToken.None);
        return SdPipeline.Decode(_sd, latents, 64, 64, _timings);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_paired.Pairs > 0) Console.WriteLine(_paired.Summary("SD image (64x64, DDIM 20 steps) vs its safety check", "generation", "check"));
        _checker.Dispose();
        _sd.Dispose();
        _host.Dispose();
    }
}
