using System.Buffers;
using SkiaSharp;

namespace MultimodalHub.Inference.Imaging;

/// <summary>
/// Decoding of untrusted image bytes to RGB and PNG encoding, on SkiaSharp (SKCodec). Decoding follows what the
/// reference stack (transformers' load_image + PIL) does: EXIF orientation applied (ImageOps.exif_transpose), GIF's
/// first frame, ICC profiles ignored (no colour-space conversion), and convert('RGB'), which drops alpha without
/// compositing onto a background (fully transparent pixels keep whatever colour they store).
/// </summary>
public static class ImageCodec
{
    /// <summary>Decode PNG/JPEG/WebP/GIF(first frame)/BMP with EXIF orientation applied, to RGB.</summary>
    /// <exception cref="ImageRejectedException">Empty, too large, unsupported, truncated or corrupt data.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> bytes, ImageLimits limits, string field = "image") =>
        DecodeWith(bytes, limits, field, static (w, h, rgba) => RgbImage.FromRgba(w, h, rgba));

    /// <summary>
    /// The alpha channel (0 = fully transparent), orientation applied, as the R plane of an <see cref="RgbImage"/>
    /// (an image without alpha decodes as all 255). Used for edit masks (OpenAI: transparent = repaint).
    /// </summary>
    public static RgbImage DecodeAlpha(ReadOnlySpan<byte> bytes, ImageLimits limits, string field = "mask") =>
        DecodeWith(bytes, limits, field, static (w, h, rgba) =>
        {
            var pixels = new byte[w * h * 3];
            for (var i = 0; i < w * h; i++) pixels[i * 3] = pixels[i * 3 + 1] = pixels[i * 3 + 2] = rgba[i * 4 + 3];
            return new RgbImage(w, h, pixels);
        });

    private delegate RgbImage RgbaToImage(int width, int height, ReadOnlySpan<byte> rgba);

    private static RgbImage DecodeWith(ReadOnlySpan<byte> bytes, ImageLimits limits, string field, RgbaToImage make)
    {
        var format = ImageGuards.CheckBytes(bytes, limits, field);
        using var codec = OpenCodec(bytes, format, field);
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        ImageGuards.CheckPixels(width, height, limits, field);

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var length = checked(width * height * 4);
        var rgba = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            SKCodecResult result;
            try
            {
                unsafe
                {
                    fixed (byte* p = rgba) result = codec.GetPixels(info, (IntPtr)p, width * 4, new SKCodecOptions(0));
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ImageRejectedException(field, $"The {Name(format)} image could not be decoded: {e.Message}");
            }
            switch (result)
            {
                case SKCodecResult.Success: break;
                case SKCodecResult.IncompleteInput:
                    throw new ImageRejectedException(field, $"The {Name(format)} image is truncated: its data ends before the last row ({width}x{height}).");
                case SKCodecResult.ErrorInInput:
                    throw new ImageRejectedException(field, $"The {Name(format)} image is corrupt: its pixel data cannot be decoded.");
                default:
                    throw new ImageRejectedException(field, $"The {Name(format)} image could not be decoded ({result}).");
            }
            return ImageOrientation.Apply(make(width, height, rgba.AsSpan(0, length)), codec.EncodedOrigin);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    /// <summary>Format and size from the header alone (same checks as <see cref="Decode"/> up to the pixels).</summary>
    public static ImageHeader ReadHeader(ReadOnlySpan<byte> bytes, ImageLimits limits, string field = "image")
    {
        var format = ImageGuards.CheckBytes(bytes, limits, field);
        using var codec = OpenCodec(bytes, format, field);
        var (width, height) = ImageOrientation.SwapsAxes(codec.EncodedOrigin)
            ? (codec.Info.Height, codec.Info.Width)
            : (codec.Info.Width, codec.Info.Height);
        ImageGuards.CheckPixels(width, height, limits, field);
        return new ImageHeader(format, width, height);
    }

    /// <summary>Encode as PNG, with optional tEXt chunks (e.g. "parameters" as A1111 writes them).</summary>
    public static byte[] EncodePng(RgbImage image, IReadOnlyDictionary<string, string>? text = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Width <= 0 || image.Height <= 0 || image.Pixels.Length != (long)image.Width * image.Height * 3)
            throw new ArgumentException($"RgbImage {image.Width}x{image.Height} has {image.Pixels.Length} bytes; expected width*height*3.", nameof(image));
        var rgba = new byte[image.Width * image.Height * 4];
        var src = image.Pixels;
        for (int i = 0, j = 0; i < src.Length; i += 3, j += 4)
        {
            rgba[j] = src[i];
            rgba[j + 1] = src[i + 1];
            rgba[j + 2] = src[i + 2];
            rgba[j + 3] = 255;
        }
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        byte[] png;
        unsafe
        {
            fixed (byte* p = rgba)
            {
                using var pixmap = new SKPixmap(info, (IntPtr)p, image.Width * 4);
                using var data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 6))
                    ?? throw new InvalidOperationException("SkiaSharp could not encode the PNG.");
                png = data.ToArray();
            }
        }
        return text is { Count: > 0 } ? PngText.Insert(png, text) : png;
    }

    /// <summary>The tEXt/iTXt/zTXt chunks of a PNG (keyword → text); empty for other formats.</summary>
    public static IReadOnlyDictionary<string, string> ReadPngText(ReadOnlySpan<byte> png) => PngText.Read(png);

    private static SKCodec OpenCodec(ReadOnlySpan<byte> bytes, ImageFormat format, string field)
    {
        SKCodec? codec;
        SKCodecResult result;
        try
        {
            var data = SKData.CreateCopy(bytes);
            // The codec takes ownership of the stream, and the stream of the data.
            codec = SKCodec.Create(new SKMemoryStream(data), out result);
            data.Dispose();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageRejectedException(field, $"The {Name(format)} image could not be read: {e.Message}");
        }
        if (codec is not null) return codec;
        throw new ImageRejectedException(field, result switch
        {
            SKCodecResult.IncompleteInput => $"The {Name(format)} image is truncated: its header is incomplete ({bytes.Length} bytes).",
            SKCodecResult.Unimplemented => $"This kind of {Name(format)} image is not supported by the decoder.",
            _ => $"The {Name(format)} image is corrupt: its header cannot be read.",
        });
    }

    private static string Name(ImageFormat format) => format switch
    {
        ImageFormat.Png => "PNG",
        ImageFormat.Jpeg => "JPEG",
        ImageFormat.WebP => "WebP",
        ImageFormat.Gif => "GIF",
        _ => "BMP",
    };
}
