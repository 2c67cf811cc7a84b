using System.Buffers.Binary;
using System.IO.Hashing;
using MultimodalHub.Inference.Imaging;
using SkiaSharp;

namespace MultimodalHub.Tests.Imaging;

/// <summary>Images made by the tests: encoded files and hand-built broken ones.</summary>
public static class TestImages
{
    /// <summary>Encode RGB(A) pixels with SkiaSharp (PNG, JPEG, WebP).</summary>
    public static byte[] Encode(RgbImage image, SKEncodedImageFormat format, int quality = 95)
    {
        var rgba = new byte[image.Width * image.Height * 4];
        for (int i = 0, j = 0; i < image.Pixels.Length; i += 3, j += 4)
        {
            rgba[j] = image.Pixels[i]; rgba[j + 1] = image.Pixels[i + 1]; rgba[j + 2] = image.Pixels[i + 2]; rgba[j + 3] = 255;
        }
        return EncodeRgba(rgba, image.Width, image.Height, SKAlphaType.Opaque, format, quality);
    }

    public static byte[] EncodeRgba(byte[] rgba, int width, int height, SKAlphaType alpha, SKEncodedImageFormat format, int quality = 95)
    {
        using var image = SKImage.FromPixelCopy(new SKImageInfo(width, height, SKColorType.Rgba8888, alpha), rgba);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }

    /// <summary>A JPEG with an EXIF APP1 segment carrying only the Orientation tag.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new byte[8 + 2 + 12 + 4];
        "MM\0*"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(8), 1); // one entry
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(10), 0x0112); // Orientation
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(12), 3); // SHORT
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(14), 1);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(18), orientation);
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF; segment[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(segment, 4);
        return [.. jpeg[..2], .. segment, .. jpeg[2..]];
    }

    /// <summary>A PNG whose IHDR claims the given size, with a tiny IDAT and IEND (no real pixel data).</summary>
    public static byte[] PngClaiming(int width, int height)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
        PngText.WriteChunk(ms, "IHDR"u8, ihdr);
        PngText.WriteChunk(ms, "IDAT"u8, [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        PngText.WriteChunk(ms, "IEND"u8, []);
        return ms.ToArray();
    }

    /// <summary>A valid PNG whose IDAT payload is replaced with garbage of the same length (CRCs fixed up).</summary>
    public static byte[] PngWithGarbageData(byte[] png)
    {
        var result = (byte[])png.Clone();
        var pos = 8;
        while (pos + 12 <= result.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(result.AsSpan(pos));
            if (result.AsSpan(pos + 4, 4).SequenceEqual("IDAT"u8))
            {
                var random = new Random(7);
                random.NextBytes(result.AsSpan(pos + 8 + 2, length - 2)); // keep the zlib header
                var crc = new Crc32();
                crc.Append(result.AsSpan(pos + 4, 4 + length));
                BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(pos + 8 + length), crc.GetCurrentHashAsUInt32());
            }
            pos += 12 + length;
        }
        return result;
    }

    /// <summary>A 24-bit BMP (bottom-up rows, BGR, rows padded to 4 bytes).</summary>
    public static byte[] Bmp(RgbImage image)
    {
        var rowSize = (image.Width * 3 + 3) / 4 * 4;
        var size = 54 + rowSize * image.Height;
        var bmp = new byte[size];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), size);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), image.Width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), image.Height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(34), rowSize * image.Height);
        for (var y = 0; y < image.Height; y++)
            for (var x = 0; x < image.Width; x++)
            {
                var s = (y * image.Width + x) * 3;
                var d = 54 + (image.Height - 1 - y) * rowSize + x * 3;
                bmp[d] = image.Pixels[s + 2]; bmp[d + 1] = image.Pixels[s + 1]; bmp[d + 2] = image.Pixels[s];
            }
        return bmp;
    }

    /// <summary>A 1x1 GIF89a with two frames: red (global palette), then blue (local palette).</summary>
    public static byte[] TwoFrameGif() =>
    [
        .. "GIF89a"u8, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, // 1x1, global colour table of 2
        0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, // red, black
        0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00, // graphic control: 100 ms
        0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // frame 1
        0x02, 0x02, 0x44, 0x01, 0x00,
        0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00,
        0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x80, // frame 2 with a local table of 2
        0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, // blue, black
        0x02, 0x02, 0x44, 0x01, 0x00,
        0x3B,
    ];
}
