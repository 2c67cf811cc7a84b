using MultimodalHub.Inference.Imaging;
using SkiaSharp;

namespace MultimodalHub.Tests.Vlm;

public sealed record SceneObject(string Shape, string Color, string Size, string Pos);

public sealed record Scene(string Background, IReadOnlyList<SceneObject> Objects)
{
    /// <summary>The canonical caption (shapes-vlm README): "a large red circle in the center", "a blue square and a yellow star".</summary>
    public string Caption => Objects.Count == 1
        ? $"a {Objects[0].Size} {Objects[0].Color} {Objects[0].Shape} {Phrase(Objects[0].Pos)}"
        : $"a {Objects[0].Color} {Objects[0].Shape} and a {Objects[1].Color} {Objects[1].Shape}";

    private static string Phrase(string pos) => pos switch { "center" => "in the center", "left" => "on the left", "right" => "on the right", _ => throw new ArgumentException(pos) };

    public override string ToString() => $"{Background}: " + string.Join(", ", Objects.Select(o => $"{o.Size} {o.Color} {o.Shape} {o.Pos}"));
}

/// <summary>
/// Draws scenes of the shapes world the shapes-vlm README describes (one or two coloured shapes on a white, black or
/// gray background; colours, sizes and positions as measured on the golden images) with SkiaSharp at 4× and reduces
/// them to 224×224 with PIL's bicubic filter (the soft edges of the training renders).
/// </summary>
public static class ShapeScenes
{
    public static readonly string[] Shapes = ["circle", "square", "triangle", "star"];
    public static readonly string[] ColorNames = ["red", "green", "blue", "yellow", "purple", "orange"];

    private static readonly Dictionary<string, SKColor> Colors = new()
    {
        ["red"] = new(220, 40, 40), ["green"] = new(40, 170, 60), ["blue"] = new(40, 80, 220),
        ["yellow"] = new(235, 205, 30), ["purple"] = new(140, 60, 190), ["orange"] = new(245, 130, 20),
    };

    private static readonly Dictionary<string, SKColor> Backgrounds = new()
    {
        ["white"] = new(245, 245, 245), ["black"] = new(20, 20, 20), ["gray"] = new(128, 128, 128),
    };

    /// <summary>Random scenes: single objects at left/center/right (large or small), or two small ones left and right.</summary>
    public static Scene Sample(Random r)
    {
        var bg = Backgrounds.Keys.ElementAt(r.Next(3));
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

    public static RgbImage Render(Scene scene, int side = 224) => PilResize.Resize(Draw(scene, side * 4), side, side, PilFilter.Bicubic);

    private static RgbImage Draw(Scene scene, int side)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(Backgrounds[scene.Background]);
        foreach (var o in scene.Objects)
        {
            using var paint = new SKPaint { Color = Colors[o.Color], IsAntialias = true, Style = SKPaintStyle.Fill };
            // Half-extent of the shape: large ≈ 0.23 of the side, small ≈ 0.11 (measured on the goldens).
            var r = (o.Size == "large" ? 0.23f : 0.11f) * side;
            // Left/right/top/bottom keep the shape's edge about 0.16 of the side from the image's edge.
            float near = 0.16f * side + r, far = 0.875f * side - r, mid = 0.485f * side;
            var (x, y) = o.Pos switch { "left" => (near, mid), "right" => (far, mid), "top" => (mid, near), "bottom" => (mid, far), _ => (mid, mid) };
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
                {
                    using var path = new SKPath();
                    path.MoveTo(x, y - r * 0.87f);
                    path.LineTo(x + r, y + r * 0.87f);
                    path.LineTo(x - r, y + r * 0.87f);
                    path.Close();
                    canvas.DrawPath(path, paint);
                    break;
                }
                default:
                {
                    using var path = new SKPath();
                    for (var i = 0; i < 10; i++)
                    {
                        var radius = i % 2 == 0 ? r * 1.05f : r * 0.5f;
                        var angle = -Math.PI / 2 + i * Math.PI / 5;
                        var px = x + radius * (float)Math.Cos(angle);
                        var py = y + radius * (float)Math.Sin(angle) + r * 0.08f;
                        if (i == 0) path.MoveTo(px, py); else path.LineTo(px, py);
                    }
                    path.Close();
                    canvas.DrawPath(path, paint);
                    break;
                }
            }
        }
        canvas.Flush();
        var rgba = bitmap.Bytes;
        var rgb = new byte[side * side * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3) { rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2]; }
        return new RgbImage(side, side, rgb);
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
