using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultimodalHub.Inference.Imaging;

/// <summary>
/// The settings of an Idefics3ImageProcessor (preprocessor_config.json of Idefics3 and SmolVLM exports):
/// size.longest_edge (the first resize), max_image_size.longest_edge (the side of every tile the vision encoder takes),
/// do_image_splitting, resample, rescale and normalize. Mean and std stay doubles, as the reference computes with them.
/// </summary>
public sealed record Idefics3ImageProcessorConfig(
    bool DoConvertRgb,
    bool DoResize,
    int? LongestEdge,
    PilFilter Resample,
    bool DoImageSplitting,
    int TileSize,
    bool DoRescale,
    double RescaleFactor,
    bool DoNormalize,
    double[] ImageMean,
    double[] ImageStd)
{
    /// <summary>Read preprocessor_config.json; keys it lacks take Idefics3ImageProcessor's defaults (size 4 × 364, tiles 364, Lanczos, mean/std 0.5).</summary>
    public static Idefics3ImageProcessorConfig Parse(string json, string source = "preprocessor_config.json")
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source} is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not valid JSON: {e.Message}", e);
        }
        try
        {
            var resample = root["resample"] is { } r ? (PilFilter)r.GetValue<int>() : PilFilter.Lanczos;
            if (!Enum.IsDefined(resample) || resample == PilFilter.Nearest)
                throw new InvalidDataException($"{source}: resample {(int)resample} is not supported (lanczos 1, bilinear 2, bicubic 3, box 4, hamming 5 are).");
            var std = Triple(root["image_std"], source, "image_std");
            if (std.Any(s => !(s > 0))) throw new InvalidDataException($"{source}: image_std must be positive.");
            return new Idefics3ImageProcessorConfig(
                ClipImageProcessorConfig.Bool(root, "do_convert_rgb", true),
                ClipImageProcessorConfig.Bool(root, "do_resize", true),
                LongestEdgeOf(root["size"], source, "size") ?? 4 * 364,
                resample,
                ClipImageProcessorConfig.Bool(root, "do_image_splitting", true),
                LongestEdgeOf(root["max_image_size"], source, "max_image_size") ?? 364,
                ClipImageProcessorConfig.Bool(root, "do_rescale", true),
                root["rescale_factor"]?.GetValue<double>() ?? 1 / 255.0,
                ClipImageProcessorConfig.Bool(root, "do_normalize", true),
                Triple(root["image_mean"], source, "image_mean"),
                std);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{source}: unexpected value type ({e.Message}).", e);
        }
    }

    private static int? LongestEdgeOf(JsonNode? node, string source, string key) => node switch
    {
        null => null,
        JsonValue v => ClipImageProcessorConfig.Positive(v.GetValue<int>(), source, key),
        JsonObject o when o["longest_edge"] is { } e => ClipImageProcessorConfig.Positive(e.GetValue<int>(), source, key + ".longest_edge"),
        _ => throw new InvalidDataException($"{source}: {key} must be {{\"longest_edge\": N}}."),
    };

    private static double[] Triple(JsonNode? node, string source, string key)
    {
        if (node is null) return [0.5, 0.5, 0.5];
        if (node is JsonValue v) { var x = v.GetValue<double>(); return [x, x, x]; }
        var values = node.AsArray().Select(n => n!.GetValue<double>()).ToArray();
        return values.Length == 3 ? values : throw new InvalidDataException($"{source}: {key} must have 3 values, not {values.Length}.");
    }
}

/// <summary>One image as the vision encoder takes it: Tiles frames [3, TileSize, TileSize] (CHW float32, tile after
/// tile), Rows × Cols grid tiles row by row and then the global image, or the global image alone (Rows = Cols = 0).</summary>
public sealed record Idefics3Pixels(float[] Values, int Tiles, int TileSize, int Rows, int Cols);

/// <summary>
/// Idefics3ImageProcessor as transformers.js runs it (checked against it by Tests/Vlm/Idefics3ReferenceTests):
/// resize so the longest edge is size.longest_edge (aspect kept, floor of the size rounded to 2 decimals; upscaling
/// too), with PIL's filter on the uint8 image; rescale and normalize to float32; then with do_image_splitting resize
/// (bilinear, half-pixel, on the floats) to the next multiple of the tile size on each side, cut that into a grid of
/// tiles and add the whole image resized to one tile as the global image; without it, resize to one tile.
/// Differences from transformers.js: the first resize is PIL's (transformers.js in Node uses sharp's lanczos3 or an
/// affine bilinear/bicubic, within a few levels of PIL's); a side that would round to 0 pixels is kept at 1 and a
/// grid side at one tile (transformers.js fails there). Thread-safe (immutable).
/// </summary>
public sealed class Idefics3ImageProcessor
{
    private readonly float[] _table;

    public Idefics3ImageProcessor(Idefics3ImageProcessorConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        _table = ValueTable(config);
    }

    public Idefics3ImageProcessorConfig Config { get; }

    /// <summary>The side of every tile (max_image_size.longest_edge).</summary>
    public int TileSize => Config.TileSize;

    public static Idefics3ImageProcessor Load(string preprocessorConfigPath)
    {
        if (!File.Exists(preprocessorConfigPath))
            throw new FileNotFoundException($"Image processor config not found: {preprocessorConfigPath}", preprocessorConfigPath);
        return new Idefics3ImageProcessor(Idefics3ImageProcessorConfig.Parse(File.ReadAllText(preprocessorConfigPath), preprocessorConfigPath));
    }

    /// <summary>The size after the first resize (longest edge to size.longest_edge), as width, height.</summary>
    public (int Width, int Height) ResizedSize(int width, int height)
    {
        if (!Config.DoResize || Config.LongestEdge is not { } edge) return (width, height);
        var factor = Math.Min((double)edge / width, (double)edge / height);
        // transformers.js: Math.floor(Number((side * factor).toFixed(2))).
        static int Side(double x) => Math.Max(1, (int)Math.Floor(Math.Round(x, 2, MidpointRounding.AwayFromZero)));
        return (Side(width * factor), Side(height * factor));
    }

    /// <summary>The size the resized image is brought to before splitting: each side a multiple of the tile size, aspect kept by the longer side.</summary>
    public (int Width, int Height) SplitSize(int width, int height)
    {
        var t = TileSize;
        static int Up(double v, int m) => Math.Max(m, (int)Math.Ceiling(v / m) * m);
        var aspect = (double)width / height;
        if (width >= height)
        {
            var w = Up(width, t);
            return (w, Up(Math.Floor(w / aspect), t));
        }
        var h = Up(height, t);
        return (Up(Math.Floor(h * aspect), t), h);
    }

    /// <summary>The tile grid (rows, cols) of an image of this size; (0, 0) when it is only the global image.</summary>
    public (int Rows, int Cols) Grid(int width, int height, bool? doImageSplitting = null)
    {
        if (!(doImageSplitting ?? Config.DoImageSplitting)) return (0, 0);
        var (rw, rh) = ResizedSize(width, height);
        var (w, h) = SplitSize(rw, rh);
        return h > TileSize || w > TileSize ? ((h + TileSize - 1) / TileSize, (w + TileSize - 1) / TileSize) : (0, 0);
    }

    /// <summary>Number of frames (grid tiles plus the global image) for an image of this size.</summary>
    public int TileCount(int width, int height, bool? doImageSplitting = null)
    {
        var (rows, cols) = Grid(width, height, doImageSplitting);
        return rows * cols + 1;
    }

    public Idefics3Pixels Preprocess(RgbImage image, bool? doImageSplitting = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (rw, rh) = ResizedSize(image.Width, image.Height);
        var resized = rw == image.Width && rh == image.Height ? image : PilResize.Resize(image, rw, rh, Config.Resample);
        var planes = Normalized(resized);
        var t = TileSize;
        var frame = 3 * t * t;
        if (!(doImageSplitting ?? Config.DoImageSplitting))
            return new Idefics3Pixels(BilinearResize.Chw(planes, rw, rh, t, t), 1, t, 0, 0);

        var (sw, sh) = SplitSize(rw, rh);
        var split = sw == rw && sh == rh ? planes : BilinearResize.Chw(planes, rw, rh, sw, sh);
        if (sw <= t && sh <= t) return new Idefics3Pixels(split, 1, t, 0, 0);
        int rows = (sh + t - 1) / t, cols = (sw + t - 1) / t;
        var values = new float[checked((rows * cols + 1) * frame)];
        // The grid's sides are multiples of the tile, so every tile is a plain t x t crop (the last row and column end at the edge).
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++)
                Crop(split, sw, sh, r == rows - 1 ? sh - t : r * t, c == cols - 1 ? sw - t : c * t, t, values.AsSpan((r * cols + c) * frame, frame));
        BilinearResize.Chw(split, sw, sh, t, t).CopyTo(values.AsSpan(rows * cols * frame));
        return new Idefics3Pixels(values, rows * cols + 1, t, rows, cols);
    }

    /// <summary>uint8 RGB → CHW float32: value * rescale_factor as float32, then (value - mean) / std in double, as float32.</summary>
    private float[] Normalized(RgbImage image)
    {
        var plane = image.Width * image.Height;
        var output = new float[checked(3 * plane)];
        var pixels = image.Pixels;
        for (var i = 0; i < plane; i++)
        {
            output[i] = _table[pixels[i * 3]];
            output[plane + i] = _table[256 + pixels[i * 3 + 1]];
            output[2 * plane + i] = _table[512 + pixels[i * 3 + 2]];
        }
        return output;
    }

    private static float[] ValueTable(Idefics3ImageProcessorConfig config)
    {
        var table = new float[3 * 256];
        for (var c = 0; c < 3; c++)
        {
            for (var v = 0; v < 256; v++)
            {
                var x = config.DoRescale ? (float)(config.RescaleFactor * v) : v;
                table[c * 256 + v] = config.DoNormalize ? (float)((x - config.ImageMean[c]) / config.ImageStd[c]) : x;
            }
        }
        return table;
    }

    private static void Crop(float[] chw, int width, int height, int top, int left, int side, Span<float> destination)
    {
        var plane = width * height;
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < side; y++)
                chw.AsSpan(c * plane + (top + y) * width + left, side).CopyTo(destination.Slice((c * side + y) * side, side));
    }
}

/// <summary>
/// Bilinear resizing of float CHW planes as ONNX Resize (mode linear, coordinate_transformation_mode half_pixel, no
/// antialias) computes it in ONNX Runtime, float arithmetic in the same order: transformers.js resizes Idefics3's
/// normalised images with that operator.
/// </summary>
public static class BilinearResize
{
    public static float[] Chw(float[] input, int width, int height, int newWidth, int newHeight)
    {
        ArgumentNullException.ThrowIfNull(input);
        var channels = input.Length / (width * height);
        var output = new float[checked(channels * newWidth * newHeight)];
        if (newWidth == width && newHeight == height)
        {
            input.AsSpan().CopyTo(output);
            return output;
        }
        var (x1, x2, dx1, dx2) = Axis(width, newWidth);
        var (y1, y2, dy1, dy2) = Axis(height, newHeight);
        int inPlane = width * height, outPlane = newWidth * newHeight;
        for (var c = 0; c < channels; c++)
        {
            var src = input.AsSpan(c * inPlane, inPlane);
            var dst = output.AsSpan(c * outPlane, outPlane);
            for (var y = 0; y < newHeight; y++)
            {
                var row1 = src.Slice(y1[y] * width, width);
                var row2 = src.Slice(y2[y] * width, width);
                float a = dy1[y], b = dy2[y];
                var o = y * newWidth;
                for (var x = 0; x < newWidth; x++)
                    dst[o + x] = dx2[x] * b * row1[x1[x]] + dx1[x] * b * row1[x2[x]] + dx2[x] * a * row2[x1[x]] + dx1[x] * a * row2[x2[x]];
            }
        }
        return output;
    }

    /// <summary>Source indices and weights along one axis: original = (i + 0.5) / scale - 0.5, clamped to the input.</summary>
    private static (int[] I1, int[] I2, float[] D1, float[] D2) Axis(int inSize, int outSize)
    {
        var scale = (float)outSize / inSize;
        var i1 = new int[outSize];
        var i2 = new int[outSize];
        var d1 = new float[outSize];
        var d2 = new float[outSize];
        for (var i = 0; i < outSize; i++)
        {
            var orig = scale == 1f ? i : (i + 0.5f) / scale - 0.5f;
            orig = Math.Max(0f, Math.Min(orig, inSize - 1));
            var a = Math.Min((int)orig, inSize - 1);
            var b = Math.Min(a + 1, inSize - 1);
            (i1[i], i2[i]) = (a, b);
            (d1[i], d2[i]) = a == b ? (0.5f, 0.5f) : (Math.Abs(orig - a), Math.Abs(orig - b));
        }
        return (i1, i2, d1, d2);
    }
}
