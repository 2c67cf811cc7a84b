using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultimodalHub.Inference.Imaging;

/// <summary>
/// The settings of a transformers image processor (preprocessor_config.json) that CLIP-family models use.
/// Size is either a shortest edge (aspect kept) or an exact height x width.
/// </summary>
public sealed record ClipImageProcessorConfig(
    bool DoConvertRgb,
    bool DoResize,
    int? ShortestEdge,
    int ResizeHeight,
    int ResizeWidth,
    PilFilter Resample,
    bool DoCenterCrop,
    int CropHeight,
    int CropWidth,
    bool DoRescale,
    double RescaleFactor,
    bool DoNormalize,
    float[] ImageMean,
    float[] ImageStd)
{
    /// <summary>OpenAI CLIP's defaults (CLIPImageProcessor's own defaults in transformers).</summary>
    public static ClipImageProcessorConfig Default { get; } = new(true, true, 224, 224, 224, PilFilter.Bicubic, true, 224, 224, true, 1 / 255.0, true,
        [0.48145466f, 0.4578275f, 0.40821073f], [0.26862954f, 0.26130258f, 0.27577711f]);

    /// <summary>Read preprocessor_config.json; keys it lacks keep CLIPImageProcessor's defaults.</summary>
    public static ClipImageProcessorConfig Parse(string json, string source = "preprocessor_config.json")
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
        var d = Default;
        try
        {
            var (shortest, rh, rw) = ReadSize(root["size"], d.ShortestEdge, d.ResizeHeight, d.ResizeWidth, source, "size");
            var (_, ch, cw) = ReadSize(root["crop_size"], null, shortest ?? rh, shortest ?? rw, source, "crop_size");
            var resample = root["resample"] is { } r ? (PilFilter)r.GetValue<int>() : d.Resample;
            if (!Enum.IsDefined(resample) || resample == PilFilter.Nearest)
                throw new InvalidDataException($"{source}: resample {(int)resample} is not supported (bilinear 2, bicubic 3, lanczos 1, box 4, hamming 5 are).");
            var mean = ReadTriple(root["image_mean"], d.ImageMean, source, "image_mean");
            var std = ReadTriple(root["image_std"], d.ImageStd, source, "image_std");
            if (std.Any(s => !(s > 0))) throw new InvalidDataException($"{source}: image_std must be positive.");
            var config = new ClipImageProcessorConfig(
                Bool(root, "do_convert_rgb", d.DoConvertRgb), Bool(root, "do_resize", d.DoResize), shortest, rh, rw, resample,
                Bool(root, "do_center_crop", d.DoCenterCrop), ch, cw,
                Bool(root, "do_rescale", d.DoRescale), root["rescale_factor"]?.GetValue<double>() ?? d.RescaleFactor,
                Bool(root, "do_normalize", d.DoNormalize), mean, std);
            if (!config.DoCenterCrop && config.ShortestEdge is not null)
                throw new InvalidDataException($"{source}: without do_center_crop, size must give height and width (a batch needs one output size).");
            return config;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{source}: unexpected value type ({e.Message}).", e);
        }
    }

    /// <summary>Output height and width of the processor.</summary>
    public (int Height, int Width) OutputSize => DoCenterCrop ? (CropHeight, CropWidth) : (ResizeHeight, ResizeWidth);

    internal static bool Bool(JsonObject root, string key, bool fallback) => root[key]?.GetValue<bool>() ?? fallback;

    private static (int? Shortest, int Height, int Width) ReadSize(JsonNode? node, int? shortest, int h, int w, string source, string key)
    {
        switch (node)
        {
            case null: return (shortest, h, w);
            case JsonValue v: var n = Positive(v.GetValue<int>(), source, key); return (key == "size" ? n : null, n, n);
            case JsonObject o when o["shortest_edge"] is { } s:
                var e = Positive(s.GetValue<int>(), source, key + ".shortest_edge");
                return (e, e, e);
            case JsonObject o when o["height"] is { } hh && o["width"] is { } ww:
                return (null, Positive(hh.GetValue<int>(), source, key + ".height"), Positive(ww.GetValue<int>(), source, key + ".width"));
            default: throw new InvalidDataException($"{source}: {key} must be a number, {{\"shortest_edge\"}} or {{\"height\", \"width\"}}.");
        }
    }

    internal static int Positive(int value, string source, string key) =>
        value is > 0 and <= 8192 ? value : throw new InvalidDataException($"{source}: {key} must be between 1 and 8192, not {value}.");

    internal static float[] ReadTriple(JsonNode? node, float[] fallback, string source, string key)
    {
        if (node is null) return fallback;
        if (node is JsonValue v) { var x = v.GetValue<float>(); return [x, x, x]; }
        var values = node.AsArray().Select(n => n!.GetValue<float>()).ToArray();
        return values.Length == 3 ? values : throw new InvalidDataException($"{source}: {key} must have 3 values, not {values.Length}.");
    }
}

/// <summary>
/// CLIPImageProcessor semantics from preprocessor_config.json, as transformers runs it with the PIL backend:
/// convert RGB; resize (shortest edge to N keeping the aspect, long edge int(N * long / short), or exact size) with
/// PIL's resampling on the uint8 image; center crop (offsets (size - crop) // 2, zero padding when the image is
/// smaller); rescale; normalize; CHW float32. Thread-safe (immutable).
/// </summary>
public sealed class ClipImageProcessor(ClipImageProcessorConfig config)
{
    public ClipImageProcessorConfig Config { get; } = config;

    public static ClipImageProcessor Load(string preprocessorConfigPath)
    {
        if (!File.Exists(preprocessorConfigPath))
            throw new FileNotFoundException($"Image processor config not found: {preprocessorConfigPath}", preprocessorConfigPath);
        return new ClipImageProcessor(ClipImageProcessorConfig.Parse(File.ReadAllText(preprocessorConfigPath), preprocessorConfigPath));
    }

    /// <summary>Output side (crop size), e.g. 224. For a non-square output, the height.</summary>
    public int Size => Config.OutputSize.Height;

    public int Height => Config.OutputSize.Height;

    public int Width => Config.OutputSize.Width;

    /// <summary>Floats per image: 3 * Height * Width.</summary>
    public int ImageLength => 3 * Height * Width;

    /// <summary>float32 CHW [3, Size, Size] for one image.</summary>
    public float[] Preprocess(RgbImage image)
    {
        var output = new float[ImageLength];
        PreprocessInto(image, output);
        return output;
    }

    /// <summary>float32 NCHW [N, 3, Size, Size] for a batch.</summary>
    public float[] PreprocessBatch(IReadOnlyList<RgbImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var output = new float[images.Count * ImageLength];
        // Images are independent and write disjoint slices: run them in parallel (the result is the same).
        if (images.Count == 1) PreprocessInto(images[0], output);
        else Parallel.For(0, images.Count, i => PreprocessInto(images[i], output.AsSpan(i * ImageLength, ImageLength)));
        return output;
    }

    /// <summary>Write one image's CHW values into <paramref name="output"/> (length <see cref="ImageLength"/>).</summary>
    public void PreprocessInto(RgbImage image, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (output.Length != ImageLength) throw new ArgumentException($"Output needs {ImageLength} floats, has {output.Length}.", nameof(output));
        if (!Config.DoResize)
        {
            var (t, l) = CropOffsets(image.Width, image.Height);
            WriteCropped(image, output, t, l);
            return;
        }
        // Resize only the rows and columns the centre crop keeps: the same pixels as resizing everything and cropping,
        // at the crop's cost (an extreme aspect ratio such as 1x20000 would otherwise resize to 224x4480000).
        var (w, h) = ResizedSize(image.Width, image.Height);
        var (top, left) = CropOffsets(w, h);
        // Already the resized size: the resize would only copy the crop's pixels (NEAREST still goes on to be rejected there).
        if (w == image.Width && h == image.Height && Config.Resample != PilFilter.Nearest)
        {
            WriteCropped(image, output, top, left);
            return;
        }
        long y0 = Math.Max(top, 0), y1 = Math.Min(top + Height, h), x0 = Math.Max(left, 0), x1 = Math.Min(left + Width, w);
        var region = PilResize.ResizeRegion(image, w, h, x0, y0, (int)(x1 - x0), (int)(y1 - y0), Config.Resample);
        WriteCropped(region, output, top - y0, left - x0);
    }

    /// <summary>
    /// The whole resize step alone (uint8), exposed for tests and benchmarks; rejects a result over 2^28 pixels
    /// (<see cref="PreprocessInto"/> resizes only the cropped part and has no such limit).
    /// </summary>
    public RgbImage ResizeStep(RgbImage image)
    {
        var (w, h) = ResizedSize(image.Width, image.Height);
        if (w * h > 1L << 28)
            throw new ImageRejectedException("image", $"A {image.Width}x{image.Height} image resizes to {w}x{h}, too large to resize whole.");
        return PilResize.Resize(image, (int)w, (int)h, Config.Resample);
    }

    /// <summary>transformers' get_resize_output_image_size(default_to_square=False) for a shortest edge; else the exact size.</summary>
    public (long Width, long Height) ResizedSize(int width, int height)
    {
        if (Config.ShortestEdge is not { } edge) return (Config.ResizeWidth, Config.ResizeHeight);
        var (shortSide, longSide) = width <= height ? (width, height) : (height, width);
        // (long)(double): exact for every size a decodable image can have; long because 224 * 20000 / 1 is already
        // 4.5 million and 8192 * int.MaxValue does not fit an int.
        var newLong = (long)((double)edge * longSide / shortSide);
        return width <= height ? (edge, newLong) : (newLong, edge);
    }

    /// <summary>Where the output window starts in a width x height (resized) image: centre crop offsets, or (0, 0).</summary>
    private (long Top, long Left) CropOffsets(long width, long height)
    {
        if (!Config.DoCenterCrop)
        {
            if (width != Width || height != Height)
                throw new InvalidOperationException($"Image is {width}x{height} after resizing; expected {Width}x{Height}.");
            return (0, 0);
        }
        return (CropOffset(height, Height), CropOffset(width, Width));
    }

    /// <summary>Center crop (or zero pad), rescale and normalize into CHW floats.</summary>
    /// <summary>Output pixel (y, x) reads image pixel (y + top, x + left); outside the image it is zero padding.</summary>
    private void WriteCropped(RgbImage image, Span<float> output, long top, long left)
    {
        int outH = Height, outW = Width;
        var scale = Config.DoRescale ? (float)Config.RescaleFactor : 1f;
        Span<float> mul = stackalloc float[3];
        Span<float> add = stackalloc float[3];
        for (var c = 0; c < 3; c++)
        {
            // ((x * scale) - mean) / std as one multiply-add per value.
            var (mean, std) = Config.DoNormalize ? (Config.ImageMean[c], Config.ImageStd[c]) : (0f, 1f);
            mul[c] = scale / std;
            add[c] = -mean / std;
        }
        var pixels = image.Pixels;
        var plane = outH * outW;
        for (var y = 0; y < outH; y++)
        {
            var sy = y + top;
            var rowInside = sy >= 0 && sy < image.Height;
            for (var x = 0; x < outW; x++)
            {
                var sx = x + left;
                var o = y * outW + x;
                if (rowInside && sx >= 0 && sx < image.Width)
                {
                    var p = (int)((sy * image.Width + sx) * 3);
                    output[o] = pixels[p] * mul[0] + add[0];
                    output[plane + o] = pixels[p + 1] * mul[1] + add[1];
                    output[2 * plane + o] = pixels[p + 2] * mul[2] + add[2];
                }
                else
                {
                    output[o] = add[0];
                    output[plane + o] = add[1];
                    output[2 * plane + o] = add[2];
                }
            }
        }
    }

    /// <summary>
    /// transformers' center_crop: offset (size - crop) // 2 when the image is large enough; when smaller, the image
    /// is centred on a zero canvas (padding ceil((crop - size) / 2) before it), which is a negative offset here.
    /// </summary>
    public static int CropOffset(int size, int crop) => (int)CropOffset((long)size, crop);

    /// <summary><see cref="CropOffset(int, int)"/> for a resized size that may exceed an int.</summary>
    public static long CropOffset(long size, int crop) => size >= crop ? (size - crop) / 2 : -((crop - size + 1) / 2);
}
