using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Imaging;

/// <summary>The goldens' pixel_values (made with transformers' CLIPImageProcessor, PIL backend) from the goldens' PNGs.</summary>
public sealed class ClipImageProcessorGoldenTests
{
    public static TheoryData<string, string> Goldens()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "clip-shapes", "shapes-vlm" })
            foreach (var png in Directory.GetFiles(Repo.Model(model, "goldens"), "*.png").Order(StringComparer.Ordinal))
                if (File.Exists(PixelValuesOf(png))) data.Add(model, Path.GetFileName(png));
        return data;
    }

    [Fact]
    public void Every_model_with_goldens_has_pixel_values_to_check() =>
        Assert.True(Goldens().Count >= 13, $"expected the 6 clip-shapes and 7 shapes-vlm goldens, found {Goldens().Count}");

    [Theory]
    [MemberData(nameof(Goldens))]
    public void Pixel_values_match_the_golden(string model, string png)
    {
        var processor = ClipImageProcessor.Load(Repo.Model(model, "preprocessor_config.json"));
        var path = Repo.Model(model, "goldens", png);
        var image = ImageCodec.Decode(File.ReadAllBytes(path), new ImageLimits());
        var expected = NpyArray.Load(PixelValuesOf(path));

        var actual = processor.Preprocess(image);

        Assert.Equal([1L, 3, processor.Height, processor.Width], expected.Shape);
        Assert.Equal(expected.Data.Length, actual.Length);
        var maxDiff = 0f;
        for (var i = 0; i < actual.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected.Data[i]));
        TestContext.Current.TestOutputHelper?.WriteLine($"{model}/{png} {image.Width}x{image.Height}: max |diff| {maxDiff:g3}");
        Assert.True(maxDiff <= 0.02f, $"{model}/{png}: max |diff| {maxDiff} > 0.02");
    }

    [Fact]
    public void Batch_is_the_images_one_after_another()
    {
        var processor = ClipImageProcessor.Load(Repo.Model("clip-shapes", "preprocessor_config.json"));
        var images = new[] { "image0.png", "image5.png" }
            .Select(f => ImageCodec.Decode(File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", f)), new ImageLimits())).ToList();

        var batch = processor.PreprocessBatch(images);

        Assert.Equal(2 * processor.ImageLength, batch.Length);
        Assert.Equal(processor.Preprocess(images[0]), batch[..processor.ImageLength]);
        Assert.Equal(processor.Preprocess(images[1]), batch[processor.ImageLength..]);
    }

    [Theory]
    [InlineData(64, 64, 224, 224)]
    [InlineData(96, 64, 336, 224)]
    [InlineData(64, 96, 224, 336)]
    [InlineData(4000, 3000, 298, 224)]
    [InlineData(333, 1000, 224, 672)]
    public void Shortest_edge_resize_sizes_follow_transformers(int w, int h, int ew, int eh)
    {
        var processor = ClipImageProcessor.Load(Repo.Model("clip-shapes", "preprocessor_config.json"));
        Assert.Equal(((long)ew, (long)eh), processor.ResizedSize(w, h));
    }

    [Theory]
    [InlineData(336, 224, 56)]
    [InlineData(225, 224, 0)]
    [InlineData(227, 224, 1)]
    [InlineData(224, 224, 0)]
    [InlineData(200, 224, -12)]
    [InlineData(201, 224, -12)]
    public void Center_crop_offsets_follow_transformers(int size, int crop, int offset) =>
        Assert.Equal(offset, ClipImageProcessor.CropOffset(size, crop));

    [Fact]
    public void Smaller_than_crop_is_zero_padded_around_the_centre()
    {
        var config = ClipImageProcessorConfig.Parse("""{"size": {"height": 4, "width": 4}, "crop_size": {"height": 6, "width": 6}, "do_normalize": false}""");
        var processor = new ClipImageProcessor(config);
        var output = processor.Preprocess(RgbImage.Filled(4, 4, 255, 255, 255));
        // channel 0, row 0 is padding; row 1 holds the image in columns 1..4
        Assert.Equal([0f, 0, 0, 0, 0, 0], output[..6]);
        Assert.Equal([0f, 1, 1, 1, 1, 0], output[6..12]);
    }

    [Theory]
    [InlineData("""{"resample": 0}""", "resample 0")]
    [InlineData("""{"image_mean": [0.5, 0.5]}""", "image_mean")]
    [InlineData("""{"size": {"shortest_edge": 0}}""", "size.shortest_edge")]
    [InlineData("""not json""", "not valid JSON")]
    public void Bad_configs_fail_with_the_key_named(string json, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => ClipImageProcessorConfig.Parse(json));
        Assert.Contains(expected, e.Message);
    }

    private static string PixelValuesOf(string png) => Path.ChangeExtension(png, null) + "_pixel_values.npy";

    [Theory]
    [InlineData(3, 700)]
    [InlineData(700, 3)]
    [InlineData(250, 240)]
    public void Preprocessing_resizes_only_the_crop_with_the_same_result(int w, int h)
    {
        var processor = ClipImageProcessor.Load(Repo.Model("clip-shapes", "preprocessor_config.json"));
        var pixels = new byte[w * h * 3];
        new Random(w * 31 + h).NextBytes(pixels);
        var image = new RgbImage(w, h, pixels);
        // The reference: the whole resize, then the crop, as transformers does it.
        var whole = processor.ResizeStep(image);
        int top = ClipImageProcessor.CropOffset(whole.Height, processor.Height), left = ClipImageProcessor.CropOffset(whole.Width, processor.Width);
        var noResize = new ClipImageProcessor(processor.Config with { DoResize = false });
        Assert.Equal(noResize.Preprocess(new RgbImage(processor.Width, processor.Height, Crop(whole, left, top, processor.Width, processor.Height))), processor.Preprocess(image));
    }

    private static byte[] Crop(RgbImage image, int x, int y, int w, int h)
    {
        var dst = new byte[w * h * 3];
        for (var row = 0; row < h; row++)
            Array.Copy(image.Pixels, ((y + row) * image.Width + x) * 3, dst, row * w * 3, w * 3);
        return dst;
    }

    [Theory]
    [InlineData(1, 20_000)]
    [InlineData(20_000, 1)]
    [InlineData(10, 100_000)]
    public void Extreme_aspect_ratios_preprocess_at_crop_cost(int w, int h)
    {
        var processor = ClipImageProcessor.Load(Repo.Model("clip-shapes", "preprocessor_config.json"));
        var output = processor.Preprocess(RgbImage.Filled(w, h, 200, 100, 50));
        Assert.Equal(processor.ImageLength, output.Length);
        Assert.All(output, v => Assert.True(float.IsFinite(v)));
    }
}
