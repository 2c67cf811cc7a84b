using System.Text;
using MultimodalHub.Inference.Imaging;
using SkiaSharp;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// PNG encoding (with an A1111-style "parameters" tEXt chunk) and init-image decoding/resizing for the diffusion
/// engine. Local SkiaSharp code until the shared ImageCodec (Imaging/Images.cs) lands; then these delegate to it.
/// </summary>
public static class DiffusionImages
{
    public static byte[] EncodePng(RgbImage image, IReadOnlyDictionary<string, string>? text = null)
    {
        using var bitmap = ToBitmap(image);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var png = data.ToArray();
        return text is { Count: > 0 } ? InsertTextChunks(png, text) : png;
    }

    /// <summary>Decode an uploaded image (PNG/JPEG/WebP/GIF/BMP) and resize it to width x height (high-quality resampling).</summary>
    public static RgbImage DecodeResized(byte[] bytes, int width, int height, ImageLimits limits, string field)
    {
        if (bytes.Length == 0) throw new ImageRejectedException(field, "The image is empty.");
        if (bytes.Length > limits.MaxBytes) throw new ImageRejectedException(field, $"The image is larger than {limits.MaxBytes} bytes.");
        using var codec = SKCodec.Create(new SKMemoryStream(bytes)) ?? throw new ImageRejectedException(field, "The image could not be decoded (not a PNG, JPEG, WebP, GIF or BMP, or corrupt).");
        var info = codec.Info;
        if ((long)info.Width * info.Height > limits.MaxPixels) throw new ImageRejectedException(field, $"The image has more than {limits.MaxPixels} pixels.");
        using var decoded = SKBitmap.Decode(codec, new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul))
            ?? throw new ImageRejectedException(field, "The image could not be decoded (corrupt or truncated).");
        using var resized = decoded.Width == width && decoded.Height == height
            ? decoded.Copy()
            : decoded.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKCubicResampler.Mitchell));
        if (resized is null) throw new ImageRejectedException(field, "The image could not be resized.");
        var rgba = resized.GetPixelSpan();
        var pixels = new byte[width * height * 3];
        for (int i = 0, j = 0; i < width * height; i++, j += 4)
        {
            // composite any transparency over white, as most UIs show it
            var a = rgba[j + 3] / 255.0;
            for (var c = 0; c < 3; c++) pixels[i * 3 + c] = (byte)Math.Round(rgba[j + c] * a + 255 * (1 - a));
        }
        return new RgbImage(width, height, pixels);
    }

    private static SKBitmap ToBitmap(RgbImage image)
    {
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var span = bitmap.GetPixelSpan();
        for (int i = 0, n = image.Width * image.Height; i < n; i++)
        {
            span[i * 4] = image.Pixels[i * 3];
            span[i * 4 + 1] = image.Pixels[i * 3 + 1];
            span[i * 4 + 2] = image.Pixels[i * 3 + 2];
            span[i * 4 + 3] = 255;
        }
        return bitmap;
    }

    /// <summary>tEXt chunks (Latin-1 keyword and text) inserted right after IHDR.</summary>
    private static byte[] InsertTextChunks(byte[] png, IReadOnlyDictionary<string, string> text)
    {
        const int ihdrEnd = 8 + 4 + 4 + 13 + 4;
        using var ms = new MemoryStream();
        ms.Write(png, 0, ihdrEnd);
        var latin1 = Encoding.Latin1;
        foreach (var (key, value) in text)
        {
            var body = latin1.GetBytes(key).Concat(new byte[] { 0 }).Concat(latin1.GetBytes(value)).ToArray();
            var type = "tEXt"u8.ToArray();
            WriteBigEndian(ms, (uint)body.Length);
            ms.Write(type);
            ms.Write(body);
            WriteBigEndian(ms, Crc32(type.Concat(body).ToArray()));
        }
        ms.Write(png, ihdrEnd, png.Length - ihdrEnd);
        return ms.ToArray();
    }

    private static void WriteBigEndian(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b, v);
        s.Write(b);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
