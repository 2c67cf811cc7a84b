using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Tests.Imaging;
using SkiaSharp;

namespace MultimodalHub.Tests.Clip;

/// <summary>Meaning: scenes drawn by the test itself, in the demo model's world, are classified right.</summary>
public sealed class ClipSemanticTests(ClipFixture fixture) : IClassFixture<ClipFixture>
{
    private static readonly string[] Labels =
        [.. TestImages.Colors.Keys.SelectMany(c => TestImages.ShapeNames.Select(s => $"{c} {s}"))];

    /// <summary>center, left, right, top, bottom, as the demo world places its objects.</summary>
    private static readonly (float X, float Y)[] Positions = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)];

    private string[] Classify(IReadOnlyList<RgbImage> images)
    {
        var model = fixture.Model;
        var texts = model.Towers.EmbedTexts(
                ClipTokenize.Encode(model.Tokenizer, Labels.Select(l => ClipTokenize.Prompt(ClipTokenize.DefaultTemplate, l)).ToList(), model.MaxTextLength), 32, default)
            .Select(v => ClipScore.Normalize(v)).ToList();
        var pixels = model.Processor.PreprocessBatch(images);
        var embeds = model.Towers.EmbedImages(pixels, images.Count, model.Processor.Height, model.Processor.Width, 32, default)
            .Select(v => ClipScore.Normalize(v)).ToList();
        return ClipScore.Similarity(embeds, texts).Select(row => Labels[ClipScore.Rank(row, 1)[0]]).ToArray();
    }

    [Fact]
    public void A_red_circle_on_white_is_a_red_circle()
    {
        var image = TestImages.Shape("circle", TestImages.Colors["red"], TestImages.Backgrounds["white"], 64, 64);
        Assert.Equal("red circle", Classify([image])[0]);
    }

    [Fact]
    public void Two_hundred_rendered_scenes_are_mostly_right_and_their_colours_nearly_always()
    {
        var random = new Random(20261124);
        var colors = TestImages.Colors.Keys.ToArray();
        var backgrounds = TestImages.Backgrounds.Keys.ToArray();
        var truth = new List<string>();
        var meta = new List<string>();
        var images = new List<RgbImage>();
        for (var i = 0; i < 200; i++)
        {
            var color = colors[random.Next(colors.Length)];
            var shape = TestImages.ShapeNames[random.Next(4)];
            var background = backgrounds[random.Next(backgrounds.Length)];
            if (TestImages.Colors[color] == TestImages.Backgrounds[background]) continue;
            // As the demo world (measured on its goldens): large shapes half the side across, small ones a quarter,
            // anywhere they fit, light pixel noise.
            var size = random.Next(2) == 0 ? 0.25f : 0.125f;
            // Off-centre positions keep the whole shape inside the frame (a star reaches 1.45 x size from its centre).
            var (dx, dy) = Positions[random.Next(Positions.Length)];
            var reach = (0.5f - 1.5f * size - 0.05f) * 0.8f;
            var cx = 0.5f + dx * reach + (float)(random.NextDouble() - 0.5) * 0.04f;
            var cy = 0.5f + dy * reach + (float)(random.NextDouble() - 0.5) * 0.04f;
            truth.Add($"{color} {shape}");
            meta.Add($"{shape}/{background}/{color}/{size}/{dx},{dy}");
            images.Add(TestImages.Shape(shape, TestImages.Colors[color], TestImages.Backgrounds[background], 64, 64, cx, cy, size, noise: 3, seed: i));
        }
        var predicted = Classify(images);
        var correct = predicted.Zip(truth).Count(p => p.First == p.Second);
        var colourCorrect = predicted.Zip(truth).Count(p => p.First.Split(' ')[0] == p.Second.Split(' ')[0]);
        var accuracy = (double)correct / truth.Count;
        var colourAccuracy = (double)colourCorrect / truth.Count;
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"top-1 {correct}/{truth.Count} = {accuracy:P1}; colour {colourAccuracy:P1}");
        foreach (var group in meta.Select((m, i) => (Shape: m.Split('/')[0], Ok: predicted[i] == truth[i])).GroupBy(g => g.Shape))
            output?.WriteLine($"  {group.Key}: {group.Count(x => x.Ok)}/{group.Count()}");
        // The demo README reports 98.8% on its own renderer (shapes.py, not shipped); these SkiaSharp renders only
        // approximate it (measured 81.5%: stars and off-centre triangles are drawn differently), so the bars are
        // set below what this renderer gets and far above chance (1/24 = 4%).
        Assert.True(colourAccuracy >= 0.95, $"colour accuracy {colourAccuracy:P1} < 95%");
        Assert.True(accuracy >= 0.75, $"top-1 accuracy {accuracy:P1} < 75%");
    }
}
