using MultimodalHub.Inference.Imaging;

namespace MultimodalHub.Tests.Imaging;

/// <summary>Properties of Pillow's resampling that the port must keep (the goldens check the exact values).</summary>
public sealed class PilResizeTests
{
    [Theory]
    [InlineData(PilFilter.Bicubic)]
    [InlineData(PilFilter.Bilinear)]
    [InlineData(PilFilter.Lanczos)]
    [InlineData(PilFilter.Box)]
    [InlineData(PilFilter.Hamming)]
    public void A_flat_image_stays_flat_up_and_down(PilFilter filter)
    {
        var flat = RgbImage.Filled(37, 23, 10, 128, 250);
        foreach (var (w, h) in new[] { (100, 61), (5, 3), (37, 80) })
        {
            var resized = PilResize.Resize(flat, w, h, filter);
            Assert.Equal((w, h), (resized.Width, resized.Height));
            for (var i = 0; i < resized.Pixels.Length; i += 3)
                Assert.Equal((10, 128, 250), ((int)resized.Pixels[i], (int)resized.Pixels[i + 1], (int)resized.Pixels[i + 2]));
        }
    }

    [Fact]
    public void Bicubic_overshoot_is_clipped_to_uint8()
    {
        // A hard black/white edge upscaled with a = -0.5 rings; PIL clips each pass to 0..255.
        var pixels = new byte[8 * 1 * 3];
        for (var x = 4; x < 8; x++) pixels[x * 3] = pixels[x * 3 + 1] = pixels[x * 3 + 2] = 255;
        var resized = PilResize.Resize(new RgbImage(8, 1, pixels), 32, 1);
        Assert.Contains(resized.Pixels, p => p == 0);
        Assert.Contains(resized.Pixels, p => p == 255);
        Assert.Contains(resized.Pixels, p => p is > 0 and < 255);
    }

    [Fact]
    public void Downscaling_antialiases_a_checkerboard_to_grey()
    {
        var pixels = new byte[64 * 64 * 3];
        for (var y = 0; y < 64; y++)
            for (var x = 0; x < 64; x++)
                if (((x + y) & 1) == 0) pixels[(y * 64 + x) * 3] = pixels[(y * 64 + x) * 3 + 1] = pixels[(y * 64 + x) * 3 + 2] = 255;
        var resized = PilResize.Resize(new RgbImage(64, 64, pixels), 8, 8);
        Assert.All(resized.Pixels, p => Assert.InRange(p, 120, 135));
    }

    [Fact]
    public void Same_size_is_a_copy()
    {
        var image = RgbImage.Filled(3, 2, 1, 2, 3);
        var same = PilResize.Resize(image, 3, 2);
        Assert.Equal(image.Pixels, same.Pixels);
        Assert.NotSame(image.Pixels, same.Pixels);
    }

    private static RgbImage Noise(int w, int h, int seed)
    {
        var pixels = new byte[w * h * 3];
        new Random(seed).NextBytes(pixels);
        return new RgbImage(w, h, pixels);
    }

    private static byte[] CropOf(RgbImage image, int x, int y, int w, int h)
    {
        var dst = new byte[w * h * 3];
        for (var row = 0; row < h; row++)
            Array.Copy(image.Pixels, ((y + row) * image.Width + x) * 3, dst, row * w * 3, w * 3);
        return dst;
    }

    [Theory]
    [InlineData(PilFilter.Bicubic, 40, 30, 97, 71, 13, 9, 50, 40)]
    [InlineData(PilFilter.Lanczos, 40, 30, 11, 7, 3, 2, 6, 4)]
    [InlineData(PilFilter.Bilinear, 40, 30, 40, 71, 5, 20, 30, 40)]
    [InlineData(PilFilter.Box, 40, 30, 97, 30, 60, 3, 30, 20)]
    [InlineData(PilFilter.Hamming, 3, 200, 60, 4000, 0, 1900, 60, 60)]
    public void A_resized_region_is_the_crop_of_the_whole_resize(PilFilter filter, int sw, int sh, int w, int h, int x, int y, int rw, int rh)
    {
        var image = Noise(sw, sh, 7);
        var region = PilResize.ResizeRegion(image, w, h, x, y, rw, rh, filter);
        Assert.Equal((rw, rh), (region.Width, region.Height));
        Assert.Equal(CropOf(PilResize.Resize(image, w, h, filter), x, y, rw, rh), region.Pixels);
    }

    [Fact]
    public void A_region_of_an_enormous_output_costs_only_the_region()
    {
        // 1x20000 with shortest edge 224 is 224x4,480,000: the centre 224x224 alone is computed.
        var image = Noise(1, 20_000, 3);
        var region = PilResize.ResizeRegion(image, 224, 4_480_000, 0, 2_239_888, 224, 224);
        Assert.Equal((224, 224), (region.Width, region.Height));
        // The one source column is spread over every output column: each row is flat.
        for (var row = 0; row < 224; row++)
            Assert.All(Enumerable.Range(0, 224), c => Assert.Equal(region.Pixels[row * 224 * 3], region.Pixels[(row * 224 + c) * 3]));
    }
}
