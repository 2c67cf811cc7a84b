using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Bench;

/// <summary>One short in-process job: 2 warm-up and 6 measured iterations (figures to report, not a lab measurement).</summary>
public sealed class QuickInProcessConfig : ManualConfig
{
    public QuickInProcessConfig()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(6).WithId("quick"));
    }
}

internal static class BenchModels
{
    /// <summary>The repository's models/ folder: found above the benchmark binary, else above the working directory.</summary>
    public static string Root { get; } = Path.Combine(
        (RepoAbove(AppContext.BaseDirectory) ?? RepoAbove(Directory.GetCurrentDirectory()))?.FullName
        ?? throw new InvalidOperationException("MultimodalHub.sln not found"), "models");

    public static string Dir(string id) => Path.Combine(Root, id);

    private static DirectoryInfo? RepoAbove(string start)
    {
        var dir = new DirectoryInfo(start);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MultimodalHub.sln"))) dir = dir.Parent;
        return dir;
    }

    public static InferenceSession Session(string path)
    {
        using var so = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        return new InferenceSession(path, so);
    }
}

/// <summary>
/// shapes-chat decoder: prefill at 32 and 256 tokens of context, 32 decode tokens with the KV cache versus recomputing
/// the prefix every step, and one decode step through the loop's runner versus a bare session.Run (overhead outside ORT).
/// `dotnet run -c Release --project Inference/Bench -- --filter '*ChatBenchmarks*'`
/// </summary>
[Config(typeof(QuickInProcessConfig))]
public class ChatBenchmarks : IDisposable
{
    private const int NewTokens = 32;
    private InferenceSession _session = null!;
    private DecoderRunner _runner = null!;
    private long[] _ids = null!;
    private long[] _mask = null!;
    private KvCache _past = null!;
    private long[] _stepMask = null!;
    private OrtValue[] _bareInputs = null!;
    private string[] _bareNames = null!;
    private string[] _outputNames = null!;

    [Params(32, 256)]
    public int Context { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var dir = BenchModels.Dir("shapes-chat");
        _session = BenchModels.Session(Path.Combine(dir, "onnx", "model.onnx"));
        var spec = DecoderSpec.From(_session, Path.Combine(dir, "config.json"));
        _runner = new DecoderRunner(_session, spec);
        // A valid prompt of the requested length: ChatML-ish ids repeated.
        int[] seed = [1283, 282, 10, 451, 259, 349, 362, 259, 447, 357, 259, 363, 322, 1284, 10];
        _ids = Enumerable.Range(0, Context).Select(i => (long)seed[i % seed.Length]).ToArray();
        _mask = Enumerable.Repeat(1L, Context).ToArray();
        using (var empty = KvCache.Empty(spec, 1))
        using (var prefill = _runner.Run(StepInput.OfIds(_ids, 1), _mask, DecoderRunner.Positions(_mask, 1, Context), empty, CancellationToken.None))
            _past = prefill.Cache.Gather([0]);
        _stepMask = Enumerable.Repeat(1L, Context + 1).ToArray();
        _bareNames = ["input_ids", "attention_mask", "position_ids", .. spec.PastNames];
        _outputNames = ["logits", .. spec.PresentNames];
        _bareInputs = [Tensors.Int64([451], 1, 1), Tensors.Int64(_stepMask, 1, Context + 1), Tensors.Int64([Context], 1, 1), .. _past.Values];
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        for (var i = 0; i < 3; i++) _bareInputs[i].Dispose();
        _past.Dispose();
        _runner.Dispose();
        _session.Dispose();
    }

    [Benchmark(Description = "prefill")]
    public float Prefill()
    {
        using var empty = KvCache.Empty(_runner.Spec, 1);
        using var output = _runner.Run(StepInput.OfIds(_ids, 1), _mask, DecoderRunner.Positions(_mask, 1, Context), empty, CancellationToken.None);
        return output.LastLogits[0];
    }

    private int Generate(bool useCache)
    {
        var settings = new GenerationSettings([new TokenSampler(SamplingOptions.GreedyDefault(NewTokens), 1285)], new HashSet<int>(), NewTokens, 1282, useCache);
        using var output = GenerationLoop.Run(_runner, new GenerationInput(StepInput.OfIds(_ids, 1), _mask, [_ids.Select(i => (int)i).ToArray()]), settings,
            next => StepInput.OfIds(next, 1), null, CancellationToken.None);
        return output.Rows[0].Ids.Count;
    }

    [Benchmark(Description = "32 tokens, KV cache")]
    public int DecodeWithCache() => Generate(true);

    [Benchmark(Description = "32 tokens, no cache")]
    public int DecodeWithoutCache() => Generate(false);

    [Benchmark(Description = "decode step: runner + sampler")]
    public int StepThroughRunner()
    {
        using var output = _runner.Run(StepInput.OfIds([451], 1), _stepMask, [Context], _past, CancellationToken.None);
        return new TokenSampler(SamplingOptions.GreedyDefault(1), 1285).Next(output.Row(0), [], []);
    }

    [Benchmark(Description = "decode step: bare session.Run")]
    public int StepBareOrt()
    {
        using var options = new RunOptions();
        using var outputs = _session.Run(options, _bareNames, _bareInputs, _outputNames);
        return outputs.Count;
    }
}

/// <summary>shapes-vlm: image encode, prefill of an image prompt, and a caption's greedy decode with and without the cache.</summary>
[Config(typeof(QuickInProcessConfig))]
public class VlmBenchmarks : IDisposable
{
    private VlmModel _model = null!;
    private float[] _pixels = null!;
    private float[] _features = null!;
    private int[] _expanded = null!;
    private int[] _positions = null!;

    [GlobalSetup]
    public void Setup()
    {
        var dir = BenchModels.Dir("shapes-vlm");
        _model = new VlmModel(ModelRegistry.Describe(dir), BenchModels.Session);
        var image = MultimodalHub.Inference.Imaging.ImageCodec.Decode(File.ReadAllBytes(Path.Combine(dir, "goldens", "g2_two_shapes_caption.png")), new());
        _pixels = VlmPreprocess.PixelValues(_model, image);
        _features = VlmEncode.ImageFeatures(_model, _pixels);
        int[] ids = [1283, 282, 10, 1285, 10, 543, 269, 385, 46, 1284, 10, 1283, 265, 10];
        (_expanded, _positions) = VlmPrompt.Expand(ids, _model.ImageTokenId, _model.ImageSeqLen);
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        _model?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Description = "image encode")]
    public float Encode() => VlmEncode.ImageFeatures(_model, _pixels)[0];

    [Benchmark(Description = "prefill (embed + splice + decoder)")]
    public float Prefill()
    {
        var embeds = VlmPrompt.Embeddings(_model, _expanded, _positions, [_features]);
        var mask = Enumerable.Repeat(1L, _expanded.Length).ToArray();
        using var empty = KvCache.Empty(_model.Spec, 1);
        using var output = _model.Runner.Run(StepInput.OfEmbeds(embeds, 1, _model.HiddenSize), mask, DecoderRunner.Positions(mask, 1, _expanded.Length), empty, CancellationToken.None);
        return output.LastLogits[0];
    }

    private int Caption(bool useCache)
    {
        var embeds = VlmPrompt.Embeddings(_model, _expanded, _positions, [_features]);
        var input = new GenerationInput(StepInput.OfEmbeds(embeds, 1, _model.HiddenSize), Enumerable.Repeat(1L, _expanded.Length).ToArray(), [_expanded]);
        var settings = new GenerationSettings([new TokenSampler(SamplingOptions.GreedyDefault(24), _model.VocabSize)], new HashSet<int>(), 24, _model.PadId, useCache);
        using var output = GenerationLoop.Run(_model.Runner, input, settings,
            t => StepInput.OfEmbeds(VlmEncode.EmbedBatch(_model, t), t.Length, _model.HiddenSize), null, CancellationToken.None);
        return output.Rows[0].Ids.Count;
    }

    [Benchmark(Description = "24 tokens, KV cache")]
    public int DecodeWithCache() => Caption(true);

    [Benchmark(Description = "24 tokens, no cache")]
    public int DecodeWithoutCache() => Caption(false);
}

/// <summary>
/// Decode tokens/s with and without KV IO binding (Inference:KvIoBinding): 32 greedy tokens with the KV cache on the
/// shapes-chat decoder after a 32- or 256-token prompt, through a plain runner (session.Run each step) and a bound one
/// (present.* bound to the session's memory, the CPU allocator here). Paired runs both alternately in one invocation and
/// prints the median of the per-pair ratios (plain time ÷ bound time: above 1 when binding is faster, <see cref="PairedTiming"/>),
/// which a shared machine's load affects equally.
/// `dotnet run -c Release --project Inference/Bench -- --filter '*KvIoBinding*'`
/// </summary>
[Config(typeof(PairedInProcessConfig))]
public class KvIoBindingBenchmarks : IDisposable
{
    private const int NewTokens = 32;
    private InferenceSession _session = null!;
    private DecoderRunner _plain = null!;
    private DecoderRunner _bound = null!;
    private long[] _ids = null!;
    private long[] _mask = null!;
    private readonly PairedTiming _paired = new();

    [Params(32, 256)]
    public int Context { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var dir = BenchModels.Dir("shapes-chat");
        _session = BenchModels.Session(Path.Combine(dir, "onnx", "model.onnx"));
        var spec = DecoderSpec.From(_session, Path.Combine(dir, "config.json"));
        _plain = new DecoderRunner(_session, spec);
        _bound = new DecoderRunner(_session, spec, kvIoBinding: true);
        int[] seed = [1283, 282, 10, 451, 259, 349, 362, 259, 447, 357, 259, 363, 322, 1284, 10];
        _ids = Enumerable.Range(0, Context).Select(i => (long)seed[i % seed.Length]).ToArray();
        _mask = Enumerable.Repeat(1L, Context).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        if (_paired.Pairs > 0) Console.WriteLine(_paired.Summary($"context {Context}, 32 tokens", "session.Run", "IO binding"));
        _plain.Dispose();
        _bound.Dispose();
        _session.Dispose();
    }

    [Benchmark(Baseline = true, Description = "32 tokens, session.Run")]
    public int Plain() => Generate(_plain);

    [Benchmark(Description = "32 tokens, KV IO binding")]
    public int Bound() => Generate(_bound);

    [Benchmark(OperationsPerInvoke = 2, Description = "32 tokens, both alternately")]
    public int Paired() => _paired.Run(() => Generate(_plain), () => Generate(_bound));

    private int Generate(DecoderRunner runner)
    {
        var settings = new GenerationSettings([new TokenSampler(SamplingOptions.GreedyDefault(NewTokens), 1285)], new HashSet<int>(), NewTokens, 1282);
        using var output = GenerationLoop.Run(runner, new GenerationInput(StepInput.OfIds(_ids, 1), _mask, [_ids.Select(i => (int)i).ToArray()]), settings,
            next => StepInput.OfIds(next, 1), null, CancellationToken.None);
        return output.Rows[0].Ids.Count;
    }
}
