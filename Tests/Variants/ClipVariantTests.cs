using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Variants;

/// <summary>clip-shapes in every file variant: both towers and the logit scale load, and zero-shot labels agree with the fp32 goldens.</summary>
public sealed class ClipVariantTests(ITestOutputHelper output)
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    /// <summary>(least cosine to the golden image embeddings, top-1 agreement with fp32 on the scenes, |logit scale - golden|) a variant must reach.</summary>
    private static (double Cosine, double Agreement, double Scale) Tolerance(string variant) => variant switch
    {
        // Measured on this CPU (ORT 1.32): cosine 1.0 (fp32, fp16), 0.9999 (q8 kinds), 0.9952 (q4 kinds); agreement 100 % except q4/q4f16 97.9 % (47/48).
        "fp32" => (0.99999, 1.0, 1e-3),
        "fp16" => (0.9999, 1.0, 0.05),
        "q8" or "int8" or "uint8" => (0.999, 0.95, 0.05),
        _ => (0.99, 0.9, 0.05),
    };

    [Theory]
    [MemberData(nameof(VariantFixtures.Names), MemberType = typeof(VariantFixtures))]
    public void Every_variant_classifies_like_the_original(string variant)
    {
        var sessions = new OrtSessionFactory(Options.Create(new InferenceOptions { IntraOpThreads = 1, UseCuda = false }), NullLogger<OrtSessionFactory>.Instance);
        using var model = ClipModel.Load(VariantFixtures.Describe("clip-shapes", variant), sessions, new ClipOptions(), NullLogger.Instance);
        using var reference = ClipModel.Load(ModelRegistry.Describe(Repo.Model("clip-shapes")), sessions, new ClipOptions(), NullLogger.Instance);
        var probs = Goldens.Load("clip-shapes", "probs.json");
        var labels = probs.GetProperty("labels").EnumerateArray().Select(e => e.GetString()!).ToList();
        var template = probs.GetProperty("template").GetString()!;

        var minCos = 1.0;
        for (var i = 0; i < 6; i++)
        {
            var pixels = NpyArray.Load(Repo.Model("clip-shapes", "goldens", $"image{i}_pixel_values.npy")).Data;
            var golden = ClipScore.Normalize(NpyArray.Load(Repo.Model("clip-shapes", "goldens", $"image{i}_image_embeds.npy")).Data);
            var ours = ClipScore.Normalize(model.Towers.EmbedImages(pixels, 1, 224, 224, 1, Ct)[0]);
            minCos = Math.Min(minCos, ClipScore.Dot(golden, ours));
        }

        var random = new Random(13);
        var images = Enumerable.Range(0, 6).Select(i => ImageCodec.Decode(File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", $"image{i}.png")), new ImageLimits()))
            .Concat(Enumerable.Range(0, 42).Select(_ => ShapeScenes.Render(ShapeScenes.SampleSingle(random), 224, ShapeGeometry.ClipShapes))).ToList();
        var ours2 = TopLabels(model, images, labels, template);
        var theirs = TopLabels(reference, images, labels, template);
        var agreement = ours2.Zip(theirs, (a, b) => a == b ? 1.0 : 0.0).Average();
        var scaleDiff = Math.Abs(model.LogitScale - probs.GetProperty("logit_scale").GetDouble());
        output.WriteLine($"clip-shapes {variant}: min image cosine {minCos:0.000000}, top-1 agreement {agreement:P1} on {images.Count} images, logit scale {model.LogitScale:0.0000}");

        var (tolCos, tolAgree, tolScale) = Tolerance(variant);
        Assert.True(minCos >= tolCos, $"{variant}: image embedding cosine {minCos} (needed {tolCos})");
        Assert.True(agreement >= tolAgree, $"{variant}: top-1 agreement {agreement:P1} (needed {tolAgree:P0})");
        Assert.True(scaleDiff <= tolScale, $"{variant}: logit scale {model.LogitScale}");
        Assert.Equal(probs.GetProperty("argmax").EnumerateArray().Select(e => e.GetString()), ours2.Take(6));
    }

    private static string[] TopLabels(ClipModel model, IReadOnlyList<RgbImage> images, IReadOnlyList<string> labels, string template)
    {
        var pixels = model.Processor.PreprocessBatch(images);
        var imageEmbeds = model.Towers.EmbedImages(pixels, images.Count, 224, 224, 16, Ct).Select(v => ClipScore.Normalize(v)).ToList();
        var texts = model.Towers.EmbedTexts(ClipTokenize.Encode(model.Tokenizer, labels.Select(l => ClipTokenize.Prompt(template, l)).ToList(), model.MaxTextLength), 32, Ct)
            .Select(v => ClipScore.Normalize(v)).ToList();
        return ClipScore.Similarity(imageEmbeds, texts).Select(row => labels[ClipScore.Rank(row, 1)[0]]).ToArray();
    }
}
