using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Hosting;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Bench;

/// <summary>
/// CLIP on the bundled clip-shapes model: images/s and texts/s through the bare towers at batch 1 and 32, and the
/// engine's end-to-end classify (PNG decode + preprocess + vision tower + cached label texts + scoring) for the same
/// images; end-to-end / bare vision is the overhead ratio; the stage benchmarks split the overhead (decode,
/// preprocess). Spinning=false runs the sessions with Inference:AllowSpinning=false. Run:
/// dotnet run -c Release --project Inference/Bench -- --filter '*ClipBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
public class ClipBenchmarks
{
    private IHost _host = null!;
    private ClipEngine _engine = null!;
    private ModelLease<ClipModel> _lease = null!;
    private float[] _pixels = null!;
    private PaddedIds[] _texts = null!;
    private List<ClipImageInput> _pngs = null!;
    private RgbImage[] _images = null!;
    private readonly string[] _labels = ["red circle", "green square", "blue triangle", "yellow star", "purple circle", "orange star"];

    [Params(1, 32)]
    public int Batch { get; set; }

    /// <summary>Inference:AllowSpinning for the sessions (ORT's spin-waiting threads compete with decode/preprocess).</summary>
    [Params(true, false)]
    public bool Spinning { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var models = BenchModels.Root;
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Inference:ModelRoots:0"] = models, ["Logging:LogLevel:Default"] = "Warning", ["Inference:AllowSpinning"] = Spinning ? "true" : "false" });
        builder.Services.AddInferenceCore(builder.Configuration);
        _host = builder.Build();
        _engine = _host.Services.GetRequiredService<ClipEngine>();
        var registry = _host.Services.GetRequiredService<ModelRegistry>();
        _lease = _engine.AcquireAsync(registry.Resolve("clip-shapes", MultimodalHub.Contracts.ModelKind.Clip), default).GetAwaiter().GetResult();
        var model = _lease.Value;
        _pngs = Enumerable.Range(0, Batch)
            .Select(i => new ClipImageInput(File.ReadAllBytes(Path.Combine(models, "clip-shapes", "goldens", $"image{i % 6}.png")), $"images[{i}]"))
            .ToList();
        _images = [.. _pngs.Select(p => ImageCodec.Decode(p.Bytes, new ImageLimits()))];
        _pixels = model.Processor.PreprocessBatch(_images);
        _texts = ClipTokenize.Encode(model.Tokenizer, Enumerable.Range(0, Batch).Select(i => $"a photo of a {_labels[i % _labels.Length]} number {i}.").ToList(), model.MaxTextLength);
        Classify(); // warm the label cache: label texts are cached across requests in the service too
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _lease.Dispose();
        _host.Dispose();
    }

    [Benchmark(Description = "bare vision tower (images)")]
    public float[][] Vision() => _lease.Value.Towers.EmbedImages(_pixels, Batch, 224, 224, 32, default);

    [Benchmark(Description = "bare text tower (texts)")]
    public float[][] Text() => _lease.Value.Towers.EmbedTexts(_texts, 32, default);

    [Benchmark(Description = "stage: decode PNGs")]
    public object Decode() => ClipPreprocess.DecodeAll(_pngs, new ImageLimits()).Images;

    [Benchmark(Description = "stage: preprocess (resize, crop, normalize)")]
    public float[] Preprocess() => _lease.Value.Processor.PreprocessBatch(_images);

    [Benchmark(Description = "end-to-end classify (PNG bytes, 6 labels)")]
    public object Classify() => _engine.ClassifyAsync(new ClipClassifyInput(_pngs, _labels), default).GetAwaiter().GetResult();
}
