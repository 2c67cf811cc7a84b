using System.Text.Json;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Clip;

/// <summary>
/// The meaning test's renderer is calibrated on clip-shapes' golden images: drawing each golden's scene (images.json)
/// with <see cref="ShapeGeometry.ClipShapes"/> reproduces the golden PNG up to the training renders' position jitter.
/// </summary>
public sealed class ClipRendererCalibrationTests
{
    public static IEnumerable<(Scene Scene, RgbImage Golden, string Name)> Goldens()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Repo.Model("clip-shapes", "goldens", "images.json")));
        foreach (var img in doc.RootElement.GetProperty("images").EnumerateArray())
        {
            var s = img.GetProperty("scene");
            var objects = s.GetProperty("objects").EnumerateArray()
                .Select(o => new SceneObject(o.GetProperty("shape").GetString()!, o.GetProperty("color").GetString()!, o.GetProperty("size").GetString()!, o.GetProperty("pos").GetString()!))
                .ToList();
            var name = img.GetProperty("png").GetString()!;
            var golden = ImageCodec.Decode(File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", name)), new ImageLimits());
            yield return (new Scene(s.GetProperty("background").GetString()!, objects), golden, name);
        }
    }

    /// <summary>Mean absolute difference per channel value (0–255).</summary>
    public static double Difference(RgbImage a, RgbImage b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        double sum = 0;
        for (var i = 0; i < a.Pixels.Length; i++) sum += Math.Abs(a.Pixels[i] - b.Pixels[i]);
        return sum / a.Pixels.Length;
    }

    /// <summary>The best difference over shifts of up to ±3 px (the goldens' position jitter): half-pixel grid, then quarter pixels around its best.</summary>
    public static (double Diff, float Dx, float Dy) BestShift(Scene scene, RgbImage golden, ShapeGeometry geometry)
    {
        var best = (Diff: double.MaxValue, Dx: 0f, Dy: 0f);
        void Try(float dx, float dy)
        {
            var d = Difference(ShapeScenes.Render(scene, golden.Width, golden.Height, geometry, dx, dy), golden);
            if (d < best.Diff) best = (d, dx, dy);
        }
        for (var dx = -3f; dx <= 3f; dx += 0.5f)
            for (var dy = -3f; dy <= 3f; dy += 0.5f)
                Try(dx, dy);
        var (cx, cy) = (best.Dx, best.Dy);
        foreach (var ox in new[] { -0.25f, 0f, 0.25f })
            foreach (var oy in new[] { -0.25f, 0f, 0.25f })
                Try(cx + ox, cy + oy);
        return best;
    }

    [Fact]
    public void Each_golden_scene_drawn_by_the_test_renderer_matches_the_golden_png()
    {
        var output = TestContext.Current.TestOutputHelper;
        var results = Goldens().Select(g => (g.Name, g.Scene, Fit: BestShift(g.Scene, g.Golden, ShapeGeometry.ClipShapes))).ToList();
        foreach (var (name, scene, (diff, dx, dy)) in results)
            output?.WriteLine($"{name} ({scene}): mean |diff| {diff:F2} at shift ({dx}, {dy})");
        // An uncalibrated drawing (shapes-vlm's 224 px geometry) is 1.7–4.3 off; a wrong shape, colour or background
        // is tens off. Two-object scenes place their shapes a little differently (measured 1.22), one object 0.6–0.96.
        foreach (var (name, scene, (diff, dx, dy)) in results)
            Assert.True(diff < (scene.Objects.Count == 1 ? 1.0 : 1.5), $"{name}: mean |diff| {diff:F2} too large (best shift {dx}, {dy})");
    }
}
