using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Clip;

/// <summary>Meaning: scenes drawn by the test itself, in the demo model's world, are classified right.</summary>
public sealed class ClipSemanticTests(ClipFixture fixture) : IClassFixture<ClipFixture>
{
    private static readonly string[] Labels = [.. ShapeScenes.ColorNames.SelectMany(c => ShapeScenes.Shapes.Select(s => $"{c} {s}"))];

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
        var image = ShapeScenes.Render(new Scene("white", [new SceneObject("circle", "red", "large", "center")]), 64, ShapeGeometry.ClipShapes);
        Assert.Equal("red circle", Classify([image])[0]);
    }

    [Fact]
    public void Two_hundred_rendered_scenes_are_at_least_90_percent_right_and_their_colours_95()
    {
        // One object (the demo README's bar: one object, 64×64 renders), anywhere the world puts it, drawn with the
        // renderer calibrated on the goldens (ClipRendererCalibrationTests), shifted by up to ±2 px as the goldens are.
        var random = new Random(20261124);
        var scenes = new List<Scene>();
        var images = new List<RgbImage>();
        for (var i = 0; i < 200; i++)
        {
            var scene = ShapeScenes.SampleSingle(random);
            var (dx, dy) = ((float)(random.NextDouble() * 4 - 2), (float)(random.NextDouble() * 4 - 2));
            scenes.Add(scene);
            images.Add(ShapeScenes.Render(scene, 64, ShapeGeometry.ClipShapes, dx, dy));
        }
        var predicted = Classify(images);
        var truth = scenes.Select(s => s.Label).ToArray();
        var correct = predicted.Zip(truth).Count(p => p.First == p.Second);
        var colourCorrect = predicted.Zip(truth).Count(p => p.First.Split(' ')[0] == p.Second.Split(' ')[0]);
        var accuracy = (double)correct / truth.Length;
        var colourAccuracy = (double)colourCorrect / truth.Length;
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"top-1 {correct}/{truth.Length} = {accuracy:P1}; colour {colourAccuracy:P1}");
        for (var i = 0; i < truth.Length; i++)
            if (predicted[i] != truth[i]) output?.WriteLine($"  {scenes[i]} -> {predicted[i]}");
        // Measured: 183/200 = 91.5% top-1, colour 100%. The misses are mostly large stars read as circles when shifted
        // off their nominal place (the model itself calls golden image5, a large star, a circle).
        Assert.True(colourAccuracy >= 0.95, $"colour accuracy {colourAccuracy:P1} < 95%");
        Assert.True(accuracy >= 0.90, $"top-1 accuracy {accuracy:P1} < 90%");
    }
}
