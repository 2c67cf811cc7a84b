namespace MultimodalHub.Inference.Imaging;

// API contract of the shared image stack (issue #4). The implementation replaces these stubs; engines code against them.

/// <summary>A decoded 8-bit RGB image, rows top to bottom, interleaved R,G,B.</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels);

/// <summary>Guard rails applied before and while decoding untrusted bytes.</summary>
public sealed class ImageLimits
{
    public long MaxBytes { get; set; } = 20 * 1024 * 1024;
    public long MaxPixels { get; set; } = 40_000_000;
}

/// <summary>Bad image input (corrupt, truncated, too large, unsupported): a clear message, becomes HTTP 400.</summary>
public sealed class ImageRejectedException(string field, string message) : MultimodalHub.Inference.Runtime.InvalidRequestException(field, message);

public static class ImageCodec
{
    /// <summary>Decode PNG/JPEG/WebP/GIF(first frame)/BMP with EXIF orientation applied, to RGB.</summary>
    public static RgbImage Decode(ReadOnlySpan<byte> bytes, ImageLimits limits, string field = "image") => throw new NotImplementedException("issue #4");

    /// <summary>Encode as PNG, with optional tEXt chunks (e.g. "parameters" as A1111 writes them).</summary>
    public static byte[] EncodePng(RgbImage image, IReadOnlyDictionary<string, string>? text = null) => throw new NotImplementedException("issue #4");
}

/// <summary>CLIPImageProcessor semantics from preprocessor_config.json (PIL bicubic resize, center crop, rescale, normalize, CHW).</summary>
public sealed class ClipImageProcessor
{
    public static ClipImageProcessor Load(string preprocessorConfigPath) => throw new NotImplementedException("issue #4");

    /// <summary>Output side (crop size), e.g. 224.</summary>
    public int Size => throw new NotImplementedException("issue #4");

    /// <summary>float32 CHW [3, Size, Size] for one image.</summary>
    public float[] Preprocess(RgbImage image) => throw new NotImplementedException("issue #4");

    /// <summary>float32 NCHW [N, 3, Size, Size] for a batch.</summary>
    public float[] PreprocessBatch(IReadOnlyList<RgbImage> images) => throw new NotImplementedException("issue #4");
}
