using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Bench;

/// <summary>
/// The ONNX variants of the demo models (artifacts/fixtures/variants-*, made by `./hub fixtures`) on this CPU: session
/// load time of the chat decoder and the CLIP vision tower, chat decode tokens/s (32 greedy tokens after a 32-token
/// prompt, KV cache in the variant's type) and CLIP vision tower images/s (batch 8).
/// `dotnet run -c Release --project Inference/Bench -- --filter '*VariantBenchmarks*'`
/// </summary>
[Config(typeof(QuickInProcessConfig))]
public class VariantBenchmarks : IDisposable
{
    private const int NewTokens = 32;
    private const int Images = 8;
    private InferenceSession _chat = null!;
    private DecoderRunner _runner = null!;
    private InferenceSession _vision = null!;
    private long[] _ids = null!;
    private long[] _mask = null!;
    private float[] _pixels = null!;

    [Params("fp32", "fp16", "q8", "q4")]
    public string Variant { get; set; } = "fp32";

    private static string Fixture(string model) => Path.Combine(Path.GetDirectoryName(BenchModels.Root)!, "artifacts", "fixtures", "variants-" + model);

    private string ChatFile => Path.Combine(Fixture("shapes-chat"), OnnxVariants.FileOf("onnx/model", Parse(Variant)));

    private string VisionFile => Path.Combine(Fixture("clip-shapes"), OnnxVariants.FileOf("onnx/vision_model", Parse(Variant)));

    private static OnnxVariant Parse(string name) => OnnxVariants.TryParse(name, out var v) ? v : throw new ArgumentException(name);

    [GlobalSetup]
    public void Setup()
    {
        if (!File.Exists(ChatFile)) throw new InvalidOperationException($"{ChatFile} is missing: run ./hub fixtures");
        _chat = BenchModels.Session(ChatFile);
        _runner = new DecoderRunner(_chat, DecoderSpec.From(_chat, Path.Combine(Fixture("shapes-chat"), "config.json")));
        int[] seed = [1283, 282, 10, 451, 259, 349, 362, 259, 447, 357, 259, 363, 322, 1284, 10];
        _ids = Enumerable.Range(0, 32).Select(i => (long)seed[i % seed.Length]).ToArray();
        _mask = Enumerable.Repeat(1L, _ids.Length).ToArray();
        _vision = BenchModels.Session(VisionFile);
        var random = new Random(1);
        _pixels = Enumerable.Range(0, Images * 3 * 224 * 224).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        _runner.Dispose();
        _chat.Dispose();
        _vision.Dispose();
    }

    [Benchmark(Description = "load chat decoder")]
    public int LoadChat()
    {
        using var s = BenchModels.Session(ChatFile);
        return s.InputNames.Count;
    }

    [Benchmark(Description = "load CLIP vision tower")]
    public int LoadVision()
    {
        using var s = BenchModels.Session(VisionFile);
        return s.InputNames.Count;
    }

    [Benchmark(Description = "chat: 32 tokens, KV cache")]
    public int Decode()
    {
        var settings = new GenerationSettings([new TokenSampler(SamplingOptions.GreedyDefault(NewTokens), 1285)], new HashSet<int>(), NewTokens, 1282);
        using var output = GenerationLoop.Run(_runner, new GenerationInput(StepInput.OfIds(_ids, 1), _mask, [_ids.Select(i => (int)i).ToArray()]), settings,
            next => StepInput.OfIds(next, 1), null, CancellationToken.None);
        return output.Rows[0].Ids.Count;
    }

    [Benchmark(Description = "CLIP vision tower, 8 images")]
    public int Vision()
    {
        using var input = Tensors.FloatInput(_vision, "pixel_values", _pixels, Images, 3, 224, 224);
        using var options = new RunOptions();
        using var outputs = _vision.Run(options, ["pixel_values"], [input], ["image_embeds"]);
        return Tensors.ToFloats(outputs[0]).Length;
    }
}
