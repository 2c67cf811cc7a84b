using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Variants;

/// <summary>shapes-vlm in every file variant: the three graphs load together and caption / answer the goldens within the variant's tolerance (decoder through IO binding, as the engine runs it by default).</summary>
public sealed class VlmVariantTests(ITestOutputHelper output)
{
    /// <summary>(least cosine of image features to the goldens, share of golden answer tokens reproduced greedily) a variant must reach.</summary>
    private static (double Cosine, double Agreement) Tolerance(string variant) => variant switch
    {
        // Measured on this CPU (ORT 1.32): cosine 1.0 (fp32, fp16), 0.9998 (q8 kinds), 0.9981 (q4 kinds); every variant reproduced all 34 golden tokens.
        "fp32" => (0.99999, 1.0),
        "fp16" => (0.9999, 1.0),
        "q8" or "int8" or "uint8" => (0.999, 0.95),
        _ => (0.99, 0.9),
    };

    [Theory]
    [MemberData(nameof(VariantFixtures.Names), MemberType = typeof(VariantFixtures))]
    public void Every_variant_answers_the_goldens(string variant)
    {
        using var model = new VlmModel(VariantFixtures.Describe("shapes-vlm", variant), VariantFixtures.Session, kvIoBinding: true);
        Assert.Equal(variant is "fp16" or "q4f16" ? TensorElementType.Float16 : TensorElementType.Float, model.Spec.CacheType);
        using var goldens = JsonDocument.Parse(File.ReadAllText(Repo.Model("shapes-vlm", "goldens", "cases.json")));
        var minCos = 1.0;
        int same = 0, total = 0;
        foreach (var c in goldens.RootElement.GetProperty("cases").EnumerateArray())
        {
            var pixels = NpyArray.Load(Repo.Model("shapes-vlm", "goldens", c.GetProperty("pixel_values").GetString()!)).Data;
            var golden = NpyArray.Load(Repo.Model("shapes-vlm", "goldens", c.GetProperty("image_features").GetString()!)).Data;
            var features = VlmEncode.ImageFeatures(model, pixels);
            minCos = Math.Min(minCos, Cosine(golden, features));
            foreach (var turn in c.GetProperty("turns").EnumerateArray())
            {
                var prompt = new VlmPromptIds(turn.GetProperty("prompt").GetString()!, turn.GetProperty("ids").Ints(), turn.GetProperty("expanded_ids").Ints(),
                    turn.GetProperty("image_token_positions").Ints());
                var expected = turn.GetProperty("generated_ids").Ints();
                var (choice, _, _) = VlmRun.Run(model, prompt, [features], "image", new VlmDecoding(SamplingOptions.GreedyDefault(48)), null, _ => { }, CancellationToken.None);
                var prefix = 0;
                while (prefix < expected.Length && prefix < choice.Ids.Count && choice.Ids[prefix] == expected[prefix]) prefix++;
                same += prefix;
                total += expected.Length;
            }
        }
        var agreement = (double)same / total;
        output.WriteLine($"shapes-vlm {variant}: min feature cosine {minCos:0.000000}, greedy token agreement {agreement:P1} ({same}/{total})");
        var (tolCos, tolAgree) = Tolerance(variant);
        Assert.True(minCos >= tolCos, $"{variant}: image features cosine {minCos} (needed {tolCos})");
        Assert.True(agreement >= tolAgree, $"{variant}: {agreement:P1} of the golden tokens (needed {tolAgree:P0})");
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++) { dot += (double)a[i] * b[i]; na += (double)a[i] * a[i]; nb += (double)b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }
}
