using System.Text;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Imaging;

public sealed class ImageCodecTests
{
    private static readonly ImageLimits Limits = new();

    private static RgbImage Halves(int width, int height)
    {
        // left half red, right half blue: big flat blocks survive JPEG/WebP.
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var p = (y * width + x) * 3;
                if (x < width / 2) pixels[p] = 255; else pixels[p + 2] = 255;
            }
        return new RgbImage(width, height, pixels);
    }

    private static (int R, int G, int B) At(RgbImage image, int x, int y)
    {
        var p = (y * image.Width + x) * 3;
        return (image.Pixels[p], image.Pixels[p + 1], image.Pixels[p + 2]);
    }

    private static bool IsRed((int R, int G, int B) c) => c.R > 200 && c.G < 40 && c.B < 40;

    private static bool IsBlue((int R, int G, int B) c) => c.B > 200 && c.R < 40 && c.G < 40;

    [Theory]
    [InlineData(SKEncodedImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Jpeg)]
    [InlineData(SKEncodedImageFormat.Webp)]
    public void Decodes_what_skia_encodes(SKEncodedImageFormat format)
    {
        var original = Halves(32, 16);
        var decoded = ImageCodec.Decode(TestImages.Encode(original, format), Limits);
        Assert.Equal((32, 16), (decoded.Width, decoded.Height));
        Assert.True(IsRed(At(decoded, 4, 8)), $"{At(decoded, 4, 8)}");
        Assert.True(IsBlue(At(decoded, 28, 8)), $"{At(decoded, 28, 8)}");
        if (format == SKEncodedImageFormat.Png) Assert.Equal(original.Pixels, decoded.Pixels);
    }

    [Fact]
    public void Decodes_bmp()
    {
        var original = Halves(5, 3); // odd width: rows are padded
        var decoded = ImageCodec.Decode(TestImages.Bmp(original), Limits);
        Assert.Equal(original, decoded with { Pixels = original.Pixels });
        Assert.Equal(original.Pixels, decoded.Pixels);
    }

    [Fact]
    public void Gif_gives_its_first_frame()
    {
        var decoded = ImageCodec.Decode(TestImages.TwoFrameGif(), Limits);
        Assert.Equal((1, 1), (decoded.Width, decoded.Height));
        Assert.Equal((255, 0, 0), At(decoded, 0, 0));
    }

    [Theory]
    [InlineData(1, 32, 16, "red", "blue")] // as stored: red left
    [InlineData(2, 32, 16, "blue", "red")] // mirrored
    [InlineData(3, 32, 16, "blue", "red")] // rotated 180
    [InlineData(6, 16, 32, "red", "blue")] // rotated 90 clockwise: the left half goes to the top
    [InlineData(8, 16, 32, "blue", "red")] // rotated 90 counter-clockwise: the left half goes to the bottom
    public void Exif_orientation_is_applied(ushort orientation, int width, int height, string first, string second)
    {
        var jpeg = TestImages.WithExifOrientation(TestImages.Encode(Halves(32, 16), SKEncodedImageFormat.Jpeg), orientation);
        var decoded = ImageCodec.Decode(jpeg, Limits);
        Assert.Equal((width, height), (decoded.Width, decoded.Height));
        Assert.Equal((width, height), (ImageCodec.ReadHeader(jpeg, Limits).Width, ImageCodec.ReadHeader(jpeg, Limits).Height));
        // "first" is at the top (portrait) or the left (landscape), "second" at the other end.
        var a = width > height ? At(decoded, 4, 8) : At(decoded, 8, 4);
        var b = width > height ? At(decoded, 28, 8) : At(decoded, 8, 28);
        Assert.True(first == "red" ? IsRed(a) : IsBlue(a), $"start {a}");
        Assert.True(second == "red" ? IsRed(b) : IsBlue(b), $"end {b}");
    }

    [Fact]
    public void Alpha_is_dropped_not_composited_as_PIL_convert_RGB()
    {
        // PIL's RGBA -> RGB keeps the stored colour even where alpha is 0 (no white/black background).
        byte[] rgba = [200, 100, 50, 0, 10, 20, 30, 128, 1, 2, 3, 255, 250, 250, 250, 0];
        var png = TestImages.EncodeRgba(rgba, 2, 2, SKAlphaType.Unpremul, SKEncodedImageFormat.Png);
        var decoded = ImageCodec.Decode(png, Limits);
        Assert.Equal([200, 100, 50, 10, 20, 30, 1, 2, 3, 250, 250, 250], decoded.Pixels);
    }

    [Fact]
    public void Png_round_trip_keeps_pixels_and_text_chunks()
    {
        var image = ShapeScenes.Render(new Scene("white", [new SceneObject("star", "purple", "large", "center")]), 48, 40, null);
        var text = new Dictionary<string, string>
        {
            ["parameters"] = "a red circle\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 64x64, Model: sd-shapes",
            ["Comment"] = "naïve résumé — ünïcödé ✓", // not Latin-1: written as iTXt
        };

        var png = ImageCodec.EncodePng(image, text);

        Assert.Equal(image.Pixels, ImageCodec.Decode(png, Limits).Pixels);
        Assert.Equal(text, ImageCodec.ReadPngText(png));
        Assert.Contains("tEXtparameters\0a red circle"u8.ToArray(), Windows(png, 27));
        Assert.Empty(ImageCodec.ReadPngText(ImageCodec.EncodePng(image)));
    }

    [Fact]
    public void Png_text_chunks_are_placed_before_the_image_data_with_valid_crcs()
    {
        var png = ImageCodec.EncodePng(RgbImage.Filled(4, 4, 1, 2, 3), new Dictionary<string, string> { ["parameters"] = "x" });
        var chunks = new List<string>();
        var pos = 8;
        while (pos < png.Length)
        {
            var length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos));
            chunks.Add(Encoding.ASCII.GetString(png, pos + 4, 4));
            var crc = new System.IO.Hashing.Crc32();
            crc.Append(png.AsSpan(pos + 4, 4 + length));
            Assert.Equal(crc.GetCurrentHashAsUInt32(), System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + length)));
            pos += 12 + length;
        }
        Assert.Equal("IHDR", chunks[0]);
        Assert.True(chunks.IndexOf("tEXt") < chunks.IndexOf("IDAT"), string.Join(",", chunks));
        Assert.Equal("IEND", chunks[^1]);
    }

    public static TheoryData<string, byte[], string> BadImages()
    {
        var png = TestImages.Encode(ShapeScenes.Render(new Scene("white", [new SceneObject("circle", "red", "large", "center")]), 64), SKEncodedImageFormat.Png);
        var jpeg = TestImages.Encode(Halves(64, 64), SKEncodedImageFormat.Jpeg);
        return new TheoryData<string, byte[], string>
        {
            { "zero bytes", [], "empty (0 bytes)" },
            { "text named .png", Encoding.UTF8.GetBytes("hello, this is not an image\n"), "text, not an image" },
            { "svg", Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><circle r=\"4\"/></svg>"), "SVG" },
            { "bare svg", Encoding.UTF8.GetBytes("<svg viewBox=\"0 0 1 1\"></svg>"), "SVG" },
            { "html", Encoding.UTF8.GetBytes("<!doctype html><html><body>404</body></html>"), "HTML/XML text" },
            { "binary junk", [0x00, 0x01, 0x02, 0xFE, 0xFF, 0x10, 0x20, 0x30, 0x00, 0x00], "Unrecognised image format" },
            { "tiff", [0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00], "TIFF" },
            { "truncated png", png[..(png.Length / 2)], "truncated" },
            { "png signature only", png[..8], "truncated" },
            { "png cut inside the header", png[..20], "truncated" },
            { "truncated jpeg", jpeg[..(jpeg.Length / 2)], "truncated" },
            { "corrupt png data", TestImages.PngWithGarbageData(png), "PNG image is" },
            { "png header claiming 100000x100000", TestImages.PngClaiming(100_000, 100_000), "100000x100000 = 10000 megapixels; the limit is 40 megapixels" },
            { "png header claiming 0 width", TestImages.PngClaiming(0, 10), "PNG image" },
        };
    }

    [Theory]
    [MemberData(nameof(BadImages))]
    public void Bad_images_are_rejected_with_a_clear_message(string name, byte[] bytes, string expected)
    {
        var e = Assert.Throws<ImageRejectedException>(() => ImageCodec.Decode(bytes, Limits, "images[0]"));
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: {e.Message}");
        Assert.Contains(expected, e.Message);
        Assert.Equal("images[0]", e.Field);
    }

    [Fact]
    public void Huge_data_is_rejected_before_decoding()
    {
        var png = TestImages.Encode(RgbImage.Filled(8, 8, 1, 1, 1), SKEncodedImageFormat.Png);
        byte[] huge = [.. png, .. new byte[21 * 1024 * 1024]];
        var e = Assert.Throws<ImageRejectedException>(() => ImageCodec.Decode(huge, Limits));
        Assert.Contains("the limit is 20 MB", e.Message);
    }

    [Fact]
    public void Limits_are_configurable()
    {
        var png = TestImages.Encode(RgbImage.Filled(100, 100, 9, 9, 9), SKEncodedImageFormat.Png);
        Assert.Contains("megapixels", Assert.Throws<ImageRejectedException>(() => ImageCodec.Decode(png, new ImageLimits { MaxPixels = 9_999 })).Message);
        Assert.Contains("MB", Assert.Throws<ImageRejectedException>(() => ImageCodec.Decode(png, new ImageLimits { MaxBytes = 10 })).Message);
        Assert.Equal(100, ImageCodec.Decode(png, new ImageLimits { MaxPixels = 10_000 }).Width);
    }

    private static IEnumerable<byte[]> Windows(byte[] data, int size)
    {
        for (var i = 0; i + size <= data.Length; i++) yield return data[i..(i + size)];
    }
}
