using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Runtime.Constrained;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Bench;

/// <summary>
/// shapes-chat, 48 new tokens greedy (eos ignored) on copy-heavy prompts (the answer repeats what the prompt holds):
/// plain decoding vs prompt lookup (10 draft tokens) vs the model drafting for itself (4 draft tokens: every token
/// accepted, twice the model runs; an upper bound of what a draft model can accept); acceptance rates are printed at
/// setup. And constrained decoding's cost: one json_object token mask inside a string and between members, and the
/// same generation with and without response_format json_object.
/// `dotnet run -c Release --project Inference/Bench -- --filter '*SpeculativeBenchmarks*'`
/// </summary>
[Config(typeof(QuickInProcessConfig))]
public class SpeculativeBenchmarks : IDisposable
{
    private const int NewTokens = 48;
    private static readonly string[] Prompts =
    [
        "<|im_start|>user\ncount from one to ten<|im_end|>\n<|im_start|>assistant\none, two, three, four, five, six, seven, eight, nine, ten<|im_end|>\n<|im_start|>user\ncount from one to ten<|im_end|>\n<|im_start|>assistant\n",
        "a large red circle in the center on a white background, a large red circle in the center on a white background, a large red circle",
        "<|im_start|>user\nrepeat: a small blue star on a black background<|im_end|>\n<|im_start|>assistant\na small blue star on a black background<|im_end|>\n<|im_start|>user\nagain<|im_end|>\n<|im_start|>assistant\na small",
    ];

    private InferenceSession _session = null!;
    private DecoderRunner _runner = null!;
    private IReadOnlyList<int>[] _prompts = null!;
    private TokenByteIndex _index = null!;
    private JsonConstraint _inString = null!;
    private JsonConstraint _between = null!;
    private float[] _logits = null!;
    private const int Vocab = 1285;

    [GlobalSetup]
    public void Setup()
    {
        var dir = BenchModels.Dir("shapes-chat");
        _session = BenchModels.Session(Path.Combine(dir, "onnx", "model.onnx"));
        _runner = new DecoderRunner(_session, DecoderSpec.From(_session, Path.Combine(dir, "config.json")));
        var tokenizer = TokenizerLoader.Load(dir);
        _prompts = [.. Prompts.Select(p => tokenizer.Encode(p, addSpecialTokens: false))];
        _index = TokenByteIndex.Build(Vocab, id => tokenizer.TokenBytes(id, skipSpecialTokens: true));
        var end = new HashSet<int> { 1284 };
        _inString = new JsonConstraint(_index, SchemaNode.AnyObject(), end);
        foreach (var id in tokenizer.Encode("{\"a\": \"one two", addSpecialTokens: false)) _inString.Accept(id);
        _between = new JsonConstraint(_index, SchemaNode.AnyObject(), end);
        foreach (var id in tokenizer.Encode("{\"a\": 1", addSpecialTokens: false)) _between.Accept(id);
        _logits = new float[_runner.Spec.LogitsWidth];
        foreach (var (name, source) in new (string, Func<IDraftSource>)[] { ("prompt lookup", () => new PromptLookupDraft()), ("self draft", () => new DraftModelSource(_runner, Vocab)) })
        {
            int drafted = 0, accepted = 0, rounds = 0;
            foreach (var p in _prompts)
            {
                using var d = source();
                var (output, stats) = SpeculativeLoop.Run(_runner, p, Greedy(), new HashSet<int>(), NewTokens, d, name == "prompt lookup" ? 10 : 4, null, CancellationToken.None);
                drafted += stats.Drafted; accepted += stats.Accepted; rounds += stats.Rounds;
            }
            Console.WriteLine($"// {name}: {accepted}/{drafted} draft tokens accepted ({100.0 * accepted / Math.Max(1, drafted):F1}%), {rounds} target runs for {NewTokens * _prompts.Length} tokens");
        }
    }

    private static TokenSampler Greedy() => new(SamplingOptions.GreedyDefault(NewTokens), Vocab);

    [Benchmark(Baseline = true, Description = "plain, 3 prompts x 48 tokens")]
    public int Plain()
    {
        var n = 0;
        foreach (var p in _prompts)
        {
            var ids = p.Select(i => (long)i).ToArray();
            var mask = Enumerable.Repeat(1L, ids.Length).ToArray();
            using var output = GenerationLoop.Run(_runner, new GenerationInput(StepInput.OfIds(ids, 1), mask, [p]),
                new GenerationSettings([Greedy()], new HashSet<int>(), NewTokens, 0), next => StepInput.OfIds(next, 1), null, CancellationToken.None);
            n += output.Rows[0].Ids.Count;
        }
        return n;
    }

    private int Speculative(Func<IDraftSource> source, int k)
    {
        var n = 0;
        foreach (var p in _prompts)
        {
            using var d = source();
            var (output, _) = SpeculativeLoop.Run(_runner, p, Greedy(), new HashSet<int>(), NewTokens, d, k, null, CancellationToken.None);
            n += output.Rows[0].Ids.Count;
        }
        return n;
    }

    [Benchmark(Description = "prompt lookup (10)")]
    public int PromptLookup() => Speculative(() => new PromptLookupDraft(), 10);

    [Benchmark(Description = "self draft (4)")]
    public int SelfDraft() => Speculative(() => new DraftModelSource(_runner, Vocab), 4);

    [Benchmark(Description = "json_object mask, inside a string")]
    public float MaskInString()
    {
        _inString.Mask(_logits);
        return _logits[0];
    }

    [Benchmark(Description = "json_object mask, between members")]
    public float MaskBetween()
    {
        _between.Mask(_logits);
        return _logits[0];
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        _runner.Dispose();
        _session.Dispose();
    }
}
