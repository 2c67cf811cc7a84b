using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using MultimodalHub.Data.Entities;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Hosting;
using MultimodalHub.Web.Services;
using SkiaSharp;

namespace MultimodalHub.Tests.Web;

public sealed class PngParametersTests
{
    [Fact]
    public void Download_png_carries_A1111_parameters_in_a_valid_tEXt_chunk()
    {
        var png = File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", "image0.png"));
        var run = new Run
        {
            Model = "sd-shapes", Kind = RunKind.Imagine, Prompt = "a red circle", NegativePrompt = "blurry",
            ParametersJson = """{"steps":20,"guidance_scale":7.5,"scheduler":"ddim","seed":7,"width":64,"height":64}""",
        };
        var text = RunText.A1111Parameters(run);
        Assert.Equal("a red circle\nNegative prompt: blurry\nSteps: 20, Sampler: ddim, CFG scale: 7.5, Seed: 7, Size: 64x64, Model: sd-shapes", text);

        var tagged = PngParameters.Insert(png, "parameters", text);

        var chunks = Chunks(tagged).ToList();
        Assert.Equal("IHDR", chunks[0].Type);
        var t = Assert.Single(chunks, c => c.Type == "tEXt");
        Assert.Equal("parameters\0" + text, Encoding.Latin1.GetString(t.Data));
        Assert.True(chunks.All(c => c.CrcOk), "every chunk's CRC is valid");
        using var decoded = SKBitmap.Decode(tagged);
        using var original = SKBitmap.Decode(png);
        Assert.Equal(original.Width, decoded.Width);
        Assert.Equal(original.GetPixel(10, 10), decoded.GetPixel(10, 10));
    }

    [Fact]
    public void Non_latin1_text_goes_into_an_iTXt_chunk_and_non_png_bytes_are_left_alone()
    {
        var png = File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", "image0.png"));
        var tagged = PngParameters.Insert(png, "parameters", "un cercle rouge ★");
        var chunk = Assert.Single(Chunks(tagged), c => c.Type == "iTXt");
        Assert.EndsWith("un cercle rouge ★", Encoding.UTF8.GetString(chunk.Data));
        byte[] notPng = [1, 2, 3];
        Assert.Same(notPng, PngParameters.Insert(notPng, "parameters", "x"));
    }

    private static IEnumerable<(string Type, byte[] Data, bool CrcOk)> Chunks(byte[] png)
    {
        for (var at = 8; at + 12 <= png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var type = Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length).ToArray();
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            yield return (type, data, crc == Crc32.HashToUInt32(png.AsSpan(at + 4, 4 + length)));
            at += 12 + length;
        }
    }
}
