using System.Security.Cryptography;
using System.Text.Json;
using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Vlm;

/// <summary>
/// Idefics3 preprocessing and prompt expansion against transformers.js's own Idefics3Processor: the goldens in
/// Tests/Fixtures/idefics3-reference/goldens.json were written by reference.mjs there (npm @huggingface/transformers)
/// for 15 cases (16 images of 13 sizes, SmolVLM-256M's configuration and the idefics3-layout fixture's).
/// </summary>
public sealed class Idefics3ReferenceTests(ITestOutputHelper output)
{
    private static readonly JsonDocument Goldens =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "Tests", "Fixtures", "idefics3-reference", "goldens.json")));

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Goldens.RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonElement Case(string name) =>
        Goldens.RootElement.GetProperty("cases").EnumerateArray().First(c => c.GetProperty("name").GetString() == name);

    private static JsonElement Config(JsonElement c) => Goldens.RootElement.GetProperty("configs").GetProperty(c.GetProperty("config").GetString()!);

    private static bool? Splitting(JsonElement c) =>
        c.GetProperty("do_image_splitting").ValueKind == JsonValueKind.Null ? null : c.GetProperty("do_image_splitting").GetBoolean();

    /// <summary>The synthetic image of reference.mjs: red a horizontal ramp, green a vertical one, blue an 8-pixel checkerboard.</summary>
    public static RgbImage Pattern(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = (y * width + x) * 3;
                pixels[i] = (byte)(x * 255 / Math.Max(width - 1, 1));
                pixels[i + 1] = (byte)(y * 255 / Math.Max(height - 1, 1));
                pixels[i + 2] = (((x >> 3) + (y >> 3)) & 1) == 1 ? (byte)220 : (byte)30;
            }
        }
        return new RgbImage(width, height, pixels);
    }

    private static RgbImage Image(JsonElement spec) => spec.GetProperty("kind").GetString() == "pattern"
        ? Pattern(spec.GetProperty("width").GetInt32(), spec.GetProperty("height").GetInt32())
        : ImageCodec.Decode(File.ReadAllBytes(Repo.Model("shapes-vlm", "goldens", spec.GetProperty("file").GetString()!)), new ImageLimits(), "image");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Pixel_values_match_transformers_js(string name)
    {
        var c = Case(name);
        var processor = new Idefics3ImageProcessor(Idefics3ImageProcessorConfig.Parse(Config(c).GetProperty("preprocessor").GetRawText()));
        var images = c.GetProperty("images").EnumerateArray().Select(Image).ToList();
        var pixels = images.Select(i => processor.Preprocess(i, Splitting(c))).ToList();

        Assert.Equal(c.GetProperty("rows").Ints(), pixels.Select(p => p.Rows).ToArray());
        Assert.Equal(c.GetProperty("cols").Ints(), pixels.Select(p => p.Cols).ToArray());
        for (var k = 0; k < images.Count; k++)
            Assert.Equal((pixels[k].Rows, pixels[k].Cols), processor.Grid(images[k].Width, images[k].Height, Splitting(c)));
        var tiles = pixels.Sum(p => p.Tiles);
        var side = processor.TileSize;
        Assert.Equal([1, tiles, 3, side, side], c.GetProperty("pixel_values_dims").Ints());
        var mask = VlmEncode.PixelAttentionMask(tiles, side);
        Assert.Equal([1, tiles, side, side], c.GetProperty("pixel_attention_mask_dims").Ints());
        Assert.Equal(c.GetProperty("pixel_attention_mask_true").GetInt32(), mask.Count(m => m));
        Assert.Equal(tiles * side * side, mask.Length);

        var values = pixels.SelectMany(p => p.Values).ToArray();
        var plane = side * side;
        double maxMean = 0, maxSample = 0;
        var means = c.GetProperty("tile_channel_means").EnumerateArray().ToArray();
        for (var t = 0; t < tiles; t++)
        {
            var expected = means[t].EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (var ch = 0; ch < 3; ch++)
            {
                double sum = 0;
                foreach (var v in values.AsSpan((t * 3 + ch) * plane, plane)) sum += v;
                maxMean = Math.Max(maxMean, Math.Abs(sum / plane - expected[ch]));
            }
        }
        var diffs = c.GetProperty("samples").EnumerateArray().Select(s => Math.Abs(values[s[0].GetInt64()] - s[1].GetDouble())).Order().ToArray();
        maxSample = diffs[^1];
        output.WriteLine($"sample diffs: median {diffs[diffs.Length / 2]:E2}, p90 {diffs[diffs.Length * 9 / 10]:E2}, p99 {diffs[diffs.Length * 99 / 100]:E2}, over 2/255 {diffs.Count(d => d > 4 / 255.0)}/{diffs.Length}");
        var exact = Convert.ToHexStringLower(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())))
            == c.GetProperty("pixel_values_sha256").GetString();
        var resized = images.Any(i => processor.ResizedSize(i.Width, i.Height) != (i.Width, i.Height));
        output.WriteLine($"{name}: {tiles} tiles, first resize {(resized ? "PIL " + processor.Config.Resample : "none")}, " +
            $"max |mean diff| {maxMean:E2}, max |sample diff| {maxSample:E2}, bit-identical {exact}");
        if (!resized)
        {
            // No first resize: normalisation and the bilinear steps are float-for-float transformers.js's (ONNX Resize).
            Assert.True(exact, $"{name}: pixel_values differ from transformers.js (max sample diff {maxSample})");
        }
        else
        {
            // The first resize is PIL's here (as in Python transformers) and sharp's in transformers.js on Node: shrinking,
            // both use the Lanczos-3 kernel and stay a few levels apart; enlarging, sharp (libvips 8.18) samples half
            // an output pixel away from PIL's pixel centres, which moves hard edges (the checkerboard) by up to ~100
            // levels while ramps and tile means agree. Measured: median sample difference 0, tile means within half a level.
            var level = processor.Config.RescaleFactor / processor.Config.ImageStd.Min();
            Assert.True(maxMean < level, $"{name}: a tile's channel mean is {maxMean / level:0.00} levels from transformers.js'");
            Assert.True(diffs[diffs.Length / 2] < level, $"{name}: the median sampled value is {diffs[diffs.Length / 2] / level:0.00} levels from transformers.js'");
            Assert.True(maxSample < 128 * level, $"{name}: a sampled value is {maxSample / level:0.00} levels from transformers.js'");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Expanded_prompt_ids_match_transformers_js(string name)
    {
        var c = Case(name);
        var processor = new Idefics3ImageProcessor(Idefics3ImageProcessorConfig.Parse(Config(c).GetProperty("preprocessor").GetRawText()));
        var seqLen = Config(c).GetProperty("processor").GetProperty("image_seq_len").GetInt32();
        var grids = c.GetProperty("images").EnumerateArray().Select(Image).Select(i => processor.Grid(i.Width, i.Height, Splitting(c))).ToList();
        var tokenizer = TokenizerLoader.Load(Fixtures.Dir("idefics3-layout"));
        var text = Idefics3Prompt.Expand(c.GetProperty("prompt").GetString()!, grids, seqLen, new Idefics3Tokens());
        var ids = tokenizer.Encode(text, addSpecialTokens: false);
        var expected = c.GetProperty("input_ids_rle").EnumerateArray().SelectMany(p => Enumerable.Repeat(p[0].GetInt32(), p[1].GetInt32())).ToArray();
        Assert.Equal(expected, ids.ToArray());
        var imageId = tokenizer.TokenToId("<image>")!.Value;
        Assert.Equal(grids.Sum(g => (g.Rows * g.Cols + 1) * seqLen), ids.Count(i => i == imageId));
    }
}
