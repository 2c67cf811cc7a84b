using Microsoft.ML.OnnxRuntime.Tensors;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Tests.Chat;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Variants;

/// <summary>
/// shapes-chat in every file variant: loads, feeds the cache in its own type (through IO binding, as the engine does by
/// default, and equal to plain session.Run), and answers the goldens within the variant's tolerance.
/// </summary>
public sealed class ChatVariantTests(ITestOutputHelper output)
{
    /// <summary>(largest |logit - golden| over the first step's top 20, share of golden tokens reproduced greedily) a variant must reach.</summary>
    private static (float MaxLogitDiff, double TokenAgreement) Tolerance(string variant) => variant switch
    {
        // Measured on this CPU (ORT 1.32): fp32 0, fp16 0.008, q8/int8/uint8 0.14-0.18, q4/q4f16 0.47; every variant reproduced all 47 golden tokens.
        "fp32" => (1e-4f, 1.0),
        "fp16" => (0.05f, 1.0),
        "q8" or "int8" or "uint8" => (0.5f, 0.95),
        _ => (1.0f, 0.9),
    };

    [Theory]
    [MemberData(nameof(VariantFixtures.Names), MemberType = typeof(VariantFixtures))]
    public void Every_variant_answers_the_goldens(string variant)
    {
        var d = VariantFixtures.Describe("shapes-chat", variant);
        using var session = VariantFixtures.Session(d.Onnx("onnx/model"));
        if (variant == "fp32") Assert.True(new FileInfo(d.Onnx("onnx/model") + "_data").Length > new FileInfo(d.Onnx("onnx/model")).Length, "fp32 keeps its weights in model.onnx_data");
        var spec = DecoderSpec.From(session, d.PathOf("config.json"));
        Assert.Equal(variant is "fp16" or "q4f16" ? TensorElementType.Float16 : TensorElementType.Float, spec.CacheType);
        using var runner = new DecoderRunner(session, spec, kvIoBinding: true);
        using var plain = new DecoderRunner(session, spec);
        var defaults = GenerationDefaults.Load(d.Directory);
        var maxDiff = 0f;
        int same = 0, total = 0;
        foreach (var c in ChatGoldens.Conversations)
        {
            var prompt = c.GetProperty("prompt_ids").Ints();
            var ids = prompt.Select(i => (long)i).ToArray();
            var mask = Enumerable.Repeat(1L, ids.Length).ToArray();
            using (var empty = KvCache.Empty(spec, 1))
            using (var step = runner.Run(StepInput.OfIds(ids, 1), mask, DecoderRunner.Positions(mask, 1, ids.Length), empty, CancellationToken.None))
            {
                var raw = c.GetProperty("first_step").GetProperty("top20_raw");
                var top = raw.GetProperty("ids").Ints();
                var logits = raw.GetProperty("logits").EnumerateArray().Select(e => e.GetSingle()).ToArray();
                for (var k = 0; k < top.Length; k++) maxDiff = Math.Max(maxDiff, Math.Abs(step.Row(0)[top[k]] - logits[k]));
                using var plainStep = plain.Run(StepInput.OfIds(ids, 1), mask, DecoderRunner.Positions(mask, 1, ids.Length), empty, CancellationToken.None);
                Assert.Equal(plainStep.LastLogits, step.LastLogits);
                Assert.Equal(spec.CacheType, step.Cache.Values[0].GetTensorTypeAndShape().ElementDataType);
            }
            var golden = c.GetProperty("generated_ids").Ints();
            var samplers = new[] { new TokenSampler(SamplingOptions.GreedyDefault(golden.Length), 1286) };
            using var run = GenerationLoop.Run(runner, new GenerationInput(StepInput.OfIds(ids, 1), mask, [prompt]),
                new GenerationSettings(samplers, defaults.EosIds.ToHashSet(), golden.Length, defaults.PadId ?? 0),
                next => StepInput.OfIds(next, 1), null, CancellationToken.None);
            var got = run.Rows[0].Ids;
            // Tokens agree up to the first difference (after it the continuation is conditioned on another text).
            var prefix = 0;
            while (prefix < golden.Length && prefix < got.Count && got[prefix] == golden[prefix]) prefix++;
            same += prefix;
            total += golden.Length;
        }
        var agreement = (double)same / total;
        output.WriteLine($"shapes-chat {variant}: max |logit diff| {maxDiff:0.0000}, greedy token agreement {agreement:P1} ({same}/{total})");
        var (tolDiff, tolAgree) = Tolerance(variant);
        Assert.True(maxDiff <= tolDiff, $"{variant}: logits differ by {maxDiff} (allowed {tolDiff})");
        Assert.True(agreement >= tolAgree, $"{variant}: {agreement:P1} of the golden tokens (needed {tolAgree:P0})");
    }
}
