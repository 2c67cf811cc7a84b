using MultimodalHub.Inference.Imaging;
using SkiaSharp;

namespace MultimodalHub.Tests.Support;

public sealed record SceneObject(string Shape, string Color, string Size, string Pos);

public sealed record Scene(string Background, IReadOnlyList<SceneObject> Objects)
{
    /// <summary>The canonical caption (shapes-vlm README): "a large red circle in the center", "a blue square and a yellow star".</summary>
    public string Caption => Objects.Count == 1
        ? $"a {Objects[0].Size} {Objects[0].Color} {Objects[0].Shape} {Phrase(Objects[0].Pos)}"
        : $"a {Objects[0].Color} {Objects[0].Shape} and a {Objects[1].Color} {Objects[1].Shape}";

    /// <summary>The zero-shot label of the demo CLIP ("red circle"): the first object's colour and shape.</summary>
    public string Label => $"{Objects[0].Color} {Objects[0].Shape}";

    private static string Phrase(string pos) => pos switch
    {
        "center" => "in the center",
        "left" => "on the left",
        "right" => "on the right",
        "top" => "at the top",
        "bottom" => "at the bottom",
        _ => throw new ArgumentException(pos),
    };

    public override string ToString() => $"{Background}: " + string.Join(", ", Objects.Select(o => $"{o.Size} {o.Color} {o.Shape} {o.Pos}"));
}

/// <summary>
/// Where and how big the renderer puts a shape, as fractions of the image side (measured on the demo models' golden
/// images: shapes-vlm's 224×224 ones and clip-shapes' 64×64 ones).
/// </summary>
public sealed record ShapeGeometry(float Large = 0.23f, float Small = 0.11f, float Margin = 0.16f, float Far = 0.875f, float Mid = 0.485f,
    float StarOuter = 1.05f, float StarInner = 0.5f)
{
    /// <summary>shapes-vlm's world (measured on its 224×224 goldens).</summary>
    public static readonly ShapeGeometry Default = new();

    /// <summary>
    /// clip-shapes' world, fitted on its 64×64 goldens (image0..4) and the 96×64 one: with the star and triangle
    /// proportions above, per-golden fitted sizes were large 0.236–0.243, small 0.122–0.135 of the side; centred
    /// shapes at half the side, off-centre ones symmetric about it (small right/bottom at 0.73–0.745, large top at
    /// 0.35); positions scatter by up to ±3 px around these (the training renders jitter them).
    /// </summary>
    public static readonly ShapeGeometry ClipShapes = new(Large: 0.24f, Small: 0.128f, Margin: 0.13f, Far: 0.87f, Mid: 0.5f);
}

/// <summary>
/// Draws scenes of the shapes world the demo models' READMEs describe (one or two coloured shapes on a white, black or
/// gray background; colours, sizes and positions as measured on the golden images) with SkiaSharp at 4× and reduces
/// them with PIL's bicubic filter (the soft edges and slight ringing of the training renders).
/// </summary>
public static class ShapeScenes
{
    public static readonly string[] Shapes = ["circle", "square", "triangle", "star"];
    public static readonly string[] ColorNames = ["red", "green", "blue", "yellow", "purple", "orange"];
    public static readonly string[] BackgroundNames = ["white", "black", "gray"];

    private static readonly Dictionary<string, SKColor> Colors = new()
    {
        ["red"] = new(220, 40, 40),
        ["green"] = new(40, 170, 60),
        ["blue"] = new(40, 80, 220),
        ["yellow"] = new(235, 205, 30),
        ["purple"] = new(140, 60, 190),
        ["orange"] = new(245, 130, 20),
    };

    private static readonly Dictionary<string, SKColor> Backgrounds = new()
    {
        ["white"] = new(245, 245, 245),
        ["black"] = new(20, 20, 20),
        ["gray"] = new(128, 128, 128),
    };

    /// <summary>Random scenes: single objects at left/center/right (large or small), or two small ones left and right.</summary>
    public static Scene Sample(Random r)
    {
        var bg = BackgroundNames[r.Next(3)];
        if (r.NextDouble() < 0.6)
        {
            string[] positions = ["left", "center", "right"];
            return new Scene(bg, [new SceneObject(Shapes[r.Next(4)], ColorNames[r.Next(6)], r.Next(2) == 0 ? "large" : "small", positions[r.Next(3)])]);
        }
        var s1 = Shapes[r.Next(4)];
        var s2 = Shapes.Where(s => s != s1).ElementAt(r.Next(3));
        var c1 = ColorNames[r.Next(6)];
        var c2 = ColorNames.Where(c => c != c1).ElementAt(r.Next(5));
        return new Scene(bg, [new SceneObject(s1, c1, "small", "left"), new SceneObject(s2, c2, "small", "right")]);
    }

    /// <summary>A random single object anywhere the demo worlds place one (center, left, right, top, bottom).</summary>
    public static Scene SampleSingle(Random r)
    {
        string[] positions = ["center", "left", "right", "top", "bottom"];
        return new Scene(BackgroundNames[r.Next(3)],
            [new SceneObject(Shapes[r.Next(4)], ColorNames[r.Next(6)], r.Next(2) == 0 ? "large" : "small", positions[r.Next(positions.Length)])]);
    }

    public static RgbImage Render(Scene scene, int side = 224, ShapeGeometry? geometry = null, float dx = 0, float dy = 0) =>
        Render(scene, side, side, geometry, dx, dy);

    /// <summary>Renders at 4× and reduces with PIL's bicubic filter; <paramref name="dx"/>/<paramref name="dy"/> shift the shapes (pixels of the result).</summary>
    public static RgbImage Render(Scene scene, int width, int height, ShapeGeometry? geometry, float dx = 0, float dy = 0) =>
        PilResize.Resize(Draw(scene, width * 4, height * 4, geometry ?? ShapeGeometry.Default, dx * 4, dy * 4), width, height, PilFilter.Bicubic);

    private static RgbImage Draw(Scene scene, int width, int height, ShapeGeometry g, float dx, float dy)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(Backgrounds[scene.Background]);
        var side = width;
        foreach (var o in scene.Objects)
        {
            using var paint = new SKPaint { Color = Colors[o.Color], IsAntialias = true, Style = SKPaintStyle.Fill };
            // Half-extent of the shape (fractions of the side measured on the goldens).
            var r = (o.Size == "large" ? g.Large : g.Small) * side;
            // Left/right/top/bottom keep the shape's edge about Margin of the side from the image's edge.
            var (x, y) = o.Pos switch
            {
                "left" => (g.Margin * width + r, g.Mid * height),
                "right" => (g.Far * width - r, g.Mid * height),
                "top" => (g.Mid * width, g.Margin * height + r),
                "bottom" => (g.Mid * width, g.Far * height - r),
                _ => (g.Mid * width, g.Mid * height),
            };
            x += dx;
            y += dy;
            switch (o.Shape)
            {
                // Circles: as measured on g1 (large), the single small ones and g5 (a small one beside another shape).
                case "circle": canvas.DrawCircle(x, y, o.Size == "large" ? r : scene.Objects.Count == 1 ? r * 1.05f : r * 1.15f, paint); break;
                case "square":
                {
                    var h = r * (o.Size == "large" ? 0.92f : 0.98f);
                    canvas.DrawRect(x - h, y - h, 2 * h, 2 * h, paint);
                    break;
                }
                case "triangle":
                    DrawPolygon(canvas, paint, [(x, y - r * 0.87f), (x + r, y + r * 0.87f), (x - r, y + r * 0.87f)]);
                    break;
                default:
                {
                    var points = new (float X, float Y)[10];
                    for (var i = 0; i < 10; i++)
                    {
                        var radius = i % 2 == 0 ? r * g.StarOuter : r * g.StarInner;
                        var angle = -Math.PI / 2 + i * Math.PI / 5;
                        points[i] = (x + radius * (float)Math.Cos(angle), y + radius * (float)Math.Sin(angle) + r * 0.08f);
                    }
                    DrawPolygon(canvas, paint, points);
                    break;
                }
            }
        }
        canvas.Flush();
        return RgbImage.FromRgba(width, height, bitmap.GetPixelSpan());
    }

    /// <summary>Fills the closed polygon through <paramref name="points"/>.</summary>
    internal static void DrawPolygon(SKCanvas canvas, SKPaint paint, (float X, float Y)[] points)
    {
        using var builder = new SKPathBuilder();
        builder.MoveTo(points[0].X, points[0].Y);
        foreach (var (px, py) in points.Skip(1)) builder.LineTo(px, py);
        builder.Close();
        using var path = builder.Detach();
        canvas.DrawPath(path, paint);
    }

    /// <summary>Questions of the README's set with their expected one-word answers.</summary>
    public static IEnumerable<(string Question, string Answer)> Questions(Scene s, Random r)
    {
        string[] numbers = ["zero", "one", "two"];
        yield return ("how many shapes are there?", numbers[s.Objects.Count]);
        yield return ("what color is the background?", s.Background);
        var o = s.Objects[r.Next(s.Objects.Count)];
        yield return ($"what color is the {o.Shape}?", o.Color);
        if (s.Objects.Count == 1)
        {
            yield return ("what shape is it?", o.Shape);
            yield return ($"is the {o.Shape} large or small?", o.Size);
            yield return ($"where is the {o.Shape}?", o.Pos);
        }
        else
        {
            var side = r.Next(2) == 0 ? "left" : "right";
            yield return ($"what shape is on the {side}?", s.Objects.First(x => x.Pos == side).Shape);
        }
        var absent = Shapes.Where(sh => s.Objects.All(x => x.Shape != sh)).ToArray();
        var ask = r.Next(2) == 0 ? o.Shape : absent[r.Next(absent.Length)];
        yield return ($"is there a {ask}?", s.Objects.Any(x => x.Shape == ask) ? "yes" : "no");
    }
}
