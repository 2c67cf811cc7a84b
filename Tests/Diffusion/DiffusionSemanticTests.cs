using MultimodalHub.Inference.Engines.Diffusion;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Diffusion;

/// <summary>Meaning: images generated for "a {colour} {shape}" are recognised as that by the clip-shapes model.</summary>
/// <remarks>The <see cref="ShapesClip"/> judge (two ONNX sessions, 24 label encodings) is built once per class.</remarks>
public sealed class DiffusionSemanticTests(SdShapesFixture fx, ShapesClip clip) : IClassFixture<SdShapesFixture>, IClassFixture<ShapesClip>
{
    private static RgbImage LoadPng(string path) => ImageCodec.Decode(File.ReadAllBytes(path), new ImageLimits());

    private RgbImage Generate(string prompt, long seed, string scheduler = "ddim")
    {
        var timings = new PipelineTimings();
        var text = SdPipeline.EncodePrompts(fx.Model, prompt, "", 7.5, timings);
        var latents = SdPipeline.Denoise(fx.Model, text, new DenoiseRequest(scheduler, 20, 7.5, 64, 64), new GaussianNoise(seed), timings, TestContext.Current.CancellationToken);
        return SdPipeline.Decode(fx.Model, latents, 64, 64, timings);
    }

    [Fact]
    public void The_judge_agrees_with_the_goldens_labels()
    {
        var image = LoadPng(Repo.Model("clip-shapes", "goldens", "image0.png"));
        Assert.Equal("red circle", clip.Classify(image));
        // the sd-shapes goldens' own images, with the labels the reference's CLIP gave them
        foreach (var c in fx.AllCases)
            Assert.Equal(c.GetProperty("clip_prediction").GetString(), clip.Classify(LoadPng(SdShapesFixture.Golden(c.GetProperty("files").GetProperty("image").GetString()!))));
    }

    [Fact]
    public void Generated_shapes_are_classified_as_their_prompt()
    {
        var total = 0;
        var correct = 0;
        var colourRight = 0;
        var misses = new List<string>();
        foreach (var label in ShapesClip.Labels)
            foreach (var seed in new long[] { 1, 2 })
            {
                var predicted = clip.Classify(Generate($"a {label}", seed));
                total++;
                if (predicted == label) correct++;
                else misses.Add($"{label}#{seed}->{predicted}");
                if (predicted.Split(' ')[0] == label.Split(' ')[0]) colourRight++;
            }
        var accuracy = (double)correct / total;
        var colour = (double)colourRight / total;
        TestContext.Current.TestOutputHelper?.WriteLine($"label {accuracy:P1}, colour {colour:P1}; misses: {string.Join(", ", misses)}");
        Assert.True(accuracy >= 0.60, $"label accuracy {accuracy:P1} < 60% ({string.Join(", ", misses)})");
        Assert.True(colour >= 0.90, $"colour accuracy {colour:P1} < 90% ({string.Join(", ", misses)})");
    }
}
