using System.Text;

namespace MultimodalHub.Inference.Imaging;

/// <summary>
/// Checks made on untrusted bytes before any pixel is decoded: size in bytes, the container format from its magic
/// bytes (with a clear word for the usual wrong inputs: SVG, HTML/text, TIFF, HEIC/AVIF, PDF), and the pixel count
/// from the header. Every failure is an <see cref="ImageRejectedException"/> naming the problem.
/// </summary>
public static class ImageGuards
{
    public const string Supported = "PNG, JPEG, WebP, GIF or BMP";

    /// <summary>The 8-byte PNG file signature.</summary>
    public static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Reject empty or too large data; return the format its magic bytes announce.</summary>
    public static ImageFormat CheckBytes(ReadOnlySpan<byte> bytes, ImageLimits limits, string field)
    {
        if (bytes.IsEmpty) throw new ImageRejectedException(field, "The image is empty (0 bytes).");
        if (bytes.Length > limits.MaxBytes)
            throw new ImageRejectedException(field,
                $"The image is {Megabytes(bytes.Length)} MB; the limit is {Megabytes(limits.MaxBytes)} MB (Limits:Images:MaxBytes).");
        return Sniff(bytes) ?? throw new ImageRejectedException(field, Unsupported(bytes));
    }

    /// <summary>Reject a header whose dimensions are zero or exceed the pixel limit.</summary>
    public static void CheckPixels(int width, int height, ImageLimits limits, string field)
    {
        if (width <= 0 || height <= 0)
            throw new ImageRejectedException(field, $"The image header gives an empty size ({width}x{height}).");
        var pixels = (long)width * height;
        if (pixels > limits.MaxPixels)
            throw new ImageRejectedException(field,
                string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"The image is {width}x{height} = {pixels / 1e6:0.#} megapixels; the limit is {limits.MaxPixels / 1e6:0.#} megapixels (Limits:Images:MaxPixels)."));
    }

    /// <summary>The format announced by the first bytes, or null when it is none of the supported ones.</summary>
    public static ImageFormat? Sniff(ReadOnlySpan<byte> b)
    {
        if (b.StartsWith(PngSignature)) return ImageFormat.Png;
        if (b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ImageFormat.Jpeg;
        if (b.StartsWith("GIF87a"u8) || b.StartsWith("GIF89a"u8)) return ImageFormat.Gif;
        if (b.Length >= 12 && b.StartsWith("RIFF"u8) && b.Slice(8, 4).SequenceEqual("WEBP"u8)) return ImageFormat.WebP;
        if (b.Length >= 14 && b.StartsWith("BM"u8)) return ImageFormat.Bmp;
        return null;
    }

    private static string Unsupported(ReadOnlySpan<byte> b)
    {
        var head = Encoding.UTF8.GetString(b[..Math.Min(b.Length, 512)]).TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        if (head.StartsWith("<svg", StringComparison.OrdinalIgnoreCase)
            || (head.StartsWith("<?xml", StringComparison.OrdinalIgnoreCase) && head.Contains("<svg", StringComparison.OrdinalIgnoreCase)))
            return $"SVG (vector) images are not supported; send a {Supported} image.";
        if (head.StartsWith('<')) return $"The data is HTML/XML text, not an image; send a {Supported} image.";
        if (b.StartsWith("%PDF"u8)) return $"PDF documents are not supported; send a {Supported} image.";
        if (b.StartsWith("II*\0"u8) || b.StartsWith("MM\0*"u8)) return $"TIFF images are not supported; send a {Supported} image.";
        if (b.Length >= 12 && b.Slice(4, 4).SequenceEqual("ftyp"u8))
            return $"HEIC/AVIF images are not supported; send a {Supported} image.";
        if (b.Length >= 4 && b[0] == 0x89 && b[1..4].SequenceEqual("PNG"u8)) return "The PNG signature is damaged (the file is corrupt).";
        if (b.StartsWith("GIF8"u8)) return "The GIF header is damaged (the file is corrupt).";
        if (LooksLikeText(b)) return $"The data is text, not an image; send a {Supported} image.";
        var hex = Convert.ToHexString(b[..Math.Min(b.Length, 8)]);
        return $"Unrecognised image format (first bytes {hex}); send a {Supported} image.";
    }

    private static bool LooksLikeText(ReadOnlySpan<byte> b)
    {
        var sample = b[..Math.Min(b.Length, 512)];
        var printable = 0;
        foreach (var c in sample) if (c is >= 0x20 and < 0x7F or (byte)'\n' or (byte)'\r' or (byte)'\t' or >= 0x80) printable++;
        return sample.IndexOf((byte)0) < 0 && printable >= sample.Length * 0.95;
    }

    private static string Megabytes(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);
}
