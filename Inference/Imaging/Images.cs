namespace MultimodalHub.Inference.Imaging;

// The shared image stack (issue #4): public types. Decoding and encoding are in ImageCodec.cs, the checks made before
// decoding in ImageGuards.cs, PIL's resampling in PilResize.cs and CLIPImageProcessor in ClipImageProcessor.cs.

/// <summary>A decoded 8-bit RGB image, rows top to bottom, interleaved R,G,B.</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    /// <summary>An image of the given size filled with one colour.</summary>
    public static RgbImage Filled(int width, int height, byte r, byte g, byte b)
    {
        var pixels = new byte[checked(width * height * 3)];
        for (var i = 0; i < pixels.Length; i += 3) { pixels[i] = r; pixels[i + 1] = g; pixels[i + 2] = b; }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>An image from 8-bit RGBA pixels (straight, or premultiplied and opaque), alpha dropped as PIL's
    /// convert('RGB') does.</summary>
    public static RgbImage FromRgba(int width, int height, ReadOnlySpan<byte> rgba)
    {
        var rgb = new byte[checked(width * height * 3)];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
        return new RgbImage(width, height, rgb);
    }
}

/// <summary>Guard rails applied before and while decoding untrusted bytes (configuration section "Limits:Images").</summary>
public sealed class ImageLimits
{
    public long MaxBytes { get; set; } = 20 * 1024 * 1024;
    public long MaxPixels { get; set; } = 40_000_000;
}

/// <summary>Bad image input (corrupt, truncated, too large, unsupported): a clear message, becomes HTTP 400.</summary>
public sealed class ImageRejectedException(string field, string message) : MultimodalHub.Inference.Runtime.InvalidRequestException(field, message);

/// <summary>The container formats the hub decodes.</summary>
public enum ImageFormat { Png, Jpeg, WebP, Gif, Bmp }

/// <summary>What the header of an image says, read without decoding its pixels.</summary>
public sealed record ImageHeader(ImageFormat Format, int Width, int Height);
