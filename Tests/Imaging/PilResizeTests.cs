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
}
