using System.Text.Json;
using SkiaSharp;

namespace MultimodalHub.Web.Services.Evaluation;

/// <summary>A JSONL set that cannot be read: the line and what is wrong with it.</summary>
public sealed class YesNoSetException(int line, string message) : Exception($"line {line}: {message}")
{
    public int Line { get; } = line;
}

/// <summary>
/// Yes/no sets: the shapes-world demo set, drawn here deterministically, and sets read from JSONL, one question a line:
/// <c>{"image_id": "...", "image": "data:image/png;base64,..." (or bare base64; may be left out on later lines of the same
/// image_id), "question": "...", "answer": "yes"|"no", "category": "..."}</c>.
/// </summary>
public static class YesNoSets
{
    public const string ShapesDemoName = "shapes demo";

    /// <summary>Images per category of the demo set (four categories, two questions an image).</summary>
    public const int DemoPerCategory = 6;

    private static readonly string[] Shapes = ["circle", "square", "triangle", "star"];
    private static readonly (string Name, SKColor Color)[] Colors =
        [("red", new(220, 40, 40)), ("green", new(40, 170, 60)), ("blue", new(40, 80, 220)), ("yellow", new(235, 205, 30)), ("purple", new(140, 60, 190)), ("orange", new(245, 130, 20))];
    private static readonly Dictionary<string, SKColor> Backgrounds = new()
    {
        ["white"] = new(245, 245, 245),
        ["black"] = new(20, 20, 20),
        ["gray"] = new(128, 128, 128),
    };

    private sealed record Shape(string Kind, int Color, bool Large, string Pos);

    /// <summary>
    /// The demo set for the shapes world's VLM: 24 images in four categories (one large shape, one small shape, two
    /// shapes, a black background), each with the question about a shape it shows (yes) and about one it does not (no).
    /// The demo VLM was taught one yes/no form, "is there a {shape}?", so every category asks that; a real VLM's set
    /// (existence, count, position, colour, ...) is loaded from JSONL.
    /// </summary>
    public static IReadOnlyList<YesNoItem> ShapesDemo(int perCategory = DemoPerCategory)
    {
        var items = new List<YesNoItem>();
        string[] positions = ["center", "left", "right"];
        for (var j = 0; j < perCategory; j++)
        {
            var bg = j % 2 == 0 ? "white" : "gray";
            Add(items, "one large shape", $"large-{j + 1}", bg, [new Shape(Shapes[j % 4], j % 6, true, positions[j % 3])], j);
            Add(items, "one small shape", $"small-{j + 1}", bg, [new Shape(Shapes[(j + 1) % 4], (j + 2) % 6, false, positions[(j + 1) % 3])], j);
            Add(items, "two shapes", $"two-{j + 1}", bg, [new Shape(Shapes[j % 4], (j + 1) % 6, false, "left"), new Shape(Shapes[(j + 2) % 4], (j + 4) % 6, false, "right")], j);
            Add(items, "black background", $"black-{j + 1}", "black", [new Shape(Shapes[(j + 3) % 4], (j + 3) % 6, j % 2 == 0, positions[(j + 2) % 3])], j);
        }
        return items.OrderBy(i => i.Category, StringComparer.Ordinal).ThenBy(i => i.ImageId, StringComparer.Ordinal).ToList();
    }

    private static void Add(List<YesNoItem> items, string category, string id, string background, IReadOnlyList<Shape> shapes, int j)
    {
        var image = "data:image/png;base64," + Convert.ToBase64String(Draw(background, shapes));
        var present = shapes[j % shapes.Count].Kind;
        var absent = Shapes.Where(s => shapes.All(x => x.Kind != s)).ElementAt(j % (4 - shapes.Select(x => x.Kind).Distinct().Count()));
        items.Add(new YesNoItem(id, category, $"is there a {present}?", "yes", image));
        items.Add(new YesNoItem(id, category, $"is there a {absent}?", "no", image));
    }

    /// <summary>A 224×224 PNG of the scene: drawn at 4× with anti-aliasing and reduced by averaging (mipmaps) (the soft
    /// edges of the demo models' training renders; sizes and places as the shapes-vlm README's world).</summary>
    private static byte[] Draw(string background, IReadOnlyList<Shape> shapes, int side = 224)
    {
        var big = side * 4;
        using var bitmap = new SKBitmap(new SKImageInfo(big, big, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(Backgrounds[background]);
            foreach (var s in shapes)
            {
                using var paint = new SKPaint { Color = Colors[s.Color].Color, IsAntialias = true, Style = SKPaintStyle.Fill };
                var r = (s.Large ? 0.23f : 0.11f) * big;
                var (x, y) = s.Pos switch
                {
                    "left" => (0.16f * big + r, 0.485f * big),
                    "right" => (0.875f * big - r, 0.485f * big),
                    _ => (0.485f * big, 0.485f * big),
                };
                switch (s.Kind)
                {
                    case "circle": canvas.DrawCircle(x, y, r, paint); break;
                    case "square": canvas.DrawRect(x - r * 0.92f, y - r * 0.92f, 2 * r * 0.92f, 2 * r * 0.92f, paint); break;
                    case "triangle": Polygon(canvas, paint, [(x, y - r * 0.87f), (x + r, y + r * 0.87f), (x - r, y + r * 0.87f)]); break;
                    default:
                        Polygon(canvas, paint, Enumerable.Range(0, 10).Select(i =>
                        {
                            var radius = i % 2 == 0 ? r * 1.05f : r * 0.5f;
                            var angle = -Math.PI / 2 + i * Math.PI / 5;
                            return (x + radius * (float)Math.Cos(angle), y + radius * (float)Math.Sin(angle) + r * 0.08f);
                        }).ToArray());
                        break;
                }
            }
        }
        using var small = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(small))
        using (var source = SKImage.FromBitmap(bitmap))
        {
            // Mipmapped sampling averages the 4×4 pixels behind each output pixel (a plain cubic 4× reduction aliases).
            canvas.DrawImage(source, new SKRect(0, 0, side, side), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }
        using var image = SKImage.FromBitmap(small);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static void Polygon(SKCanvas canvas, SKPaint paint, (float X, float Y)[] points)
    {
        using var builder = new SKPathBuilder();
        builder.MoveTo(points[0].X, points[0].Y);
        foreach (var (px, py) in points.Skip(1)) builder.LineTo(px, py);
        builder.Close();
        using var path = builder.Detach();
        canvas.DrawPath(path, paint);
    }

    /// <summary>Reads a JSONL set (blank lines skipped); throws <see cref="YesNoSetException"/> naming the first bad line.</summary>
    public static IReadOnlyList<YesNoItem> ReadJsonl(string text)
    {
        var items = new List<YesNoItem>();
        var images = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0) continue;
            var n = i + 1;
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(line);
                root = document.RootElement.Clone();
            }
            catch (JsonException e) { throw new YesNoSetException(n, "not JSON: " + e.Message); }
            if (root.ValueKind != JsonValueKind.Object) throw new YesNoSetException(n, "each line must be a JSON object.");
            string? Field(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var question = Field("question");
            if (string.IsNullOrWhiteSpace(question)) throw new YesNoSetException(n, "\"question\" is missing or empty.");
            var answer = Field("answer")?.Trim().ToLowerInvariant();
            if (answer is not ("yes" or "no")) throw new YesNoSetException(n, "\"answer\" must be \"yes\" or \"no\".");
            var image = Field("image");
            var id = Field("image_id") ?? (image is null ? null : "image-" + n);
            if (id is null) throw new YesNoSetException(n, "\"image\" is missing (and no \"image_id\" names an earlier one).");
            if (!string.IsNullOrWhiteSpace(image)) images[id] = image;
            else if (!images.TryGetValue(id, out image)) throw new YesNoSetException(n, $"no image for \"{id}\" yet: give \"image\" on its first line.");
            items.Add(new YesNoItem(id, Field("category") is { Length: > 0 } c ? c : "default", question.Trim(), answer, image!));
        }
        if (items.Count == 0) throw new YesNoSetException(1, "the file has no questions.");
        return items;
    }

    /// <summary>A set as JSONL (the image on each image's first line only), readable by <see cref="ReadJsonl"/>.</summary>
    public static string ToJsonl(IReadOnlyList<YesNoItem> items)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return string.Concat(items.Select(i => JsonSerializer.Serialize(new
        {
            image_id = i.ImageId,
            image = seen.Add(i.ImageId) ? i.Image : null,
            question = i.Question,
            answer = i.Answer,
            category = i.Category,
        }, RunText.Json) + "\n"));
    }
}
