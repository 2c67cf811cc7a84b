using SkiaSharp;

namespace MultimodalHub.Inference.Imaging;

/// <summary>
/// EXIF orientation (as SKCodec.EncodedOrigin reports it) applied to decoded pixels, the same transforms as PIL's
/// ImageOps.exif_transpose: 2 flip left-right, 3 rotate 180, 4 flip top-bottom, 5 transpose, 6 rotate 90° clockwise,
/// 7 transverse, 8 rotate 90° counter-clockwise.
/// </summary>
public static class ImageOrientation
{
    public static bool SwapsAxes(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    /// <summary>The upright image for RGB pixels stored with the given origin.</summary>
    public static RgbImage Apply(RgbImage stored, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft || (int)origin is < 1 or > 8) return stored;
        var (rgb, width, height) = (stored.Pixels, stored.Width, stored.Height);
        var (w, h) = SwapsAxes(origin) ? (height, width) : (width, height);
        var output = new byte[rgb.Length];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (width - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (width - 1 - x, height - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, height - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, height - 1 - x),
                    SKEncodedOrigin.RightBottom => (width - 1 - y, height - 1 - x),
                    _ /* LeftBottom */ => (width - 1 - y, x),
                };
                var s = (sy * width + sx) * 3;
                var d = (y * w + x) * 3;
                output[d] = rgb[s];
                output[d + 1] = rgb[s + 1];
                output[d + 2] = rgb[s + 2];
            }
        }
        return new RgbImage(w, h, output);
    }
}
