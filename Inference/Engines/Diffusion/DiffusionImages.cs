using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Img2img input: the uploaded image decoded with the shared guards and resized (PIL bicubic) to the output size.</summary>
public static class DiffusionImages
{
    public static RgbImage DecodeResized(byte[] bytes, int width, int height, ImageLimits limits, string field)
    {
        var image = ImageCodec.Decode(bytes, limits, field);
        return image.Width == width && image.Height == height ? image : PilResize.Resize(image, width, height, PilFilter.Bicubic);
    }

    /// <summary>
    /// An edit mask as OpenAI defines it (a PNG the size of the image whose fully transparent pixels are to be edited),
    /// resized (bilinear) to the output size: per pixel, 1 = repaint, 0 = keep (1 - alpha / 255).
    /// </summary>
    public static float[] DecodeMask(byte[] image, byte[] mask, int width, int height, ImageLimits limits, string imageField, string maskField)
    {
        var imageHeader = ImageCodec.ReadHeader(image, limits, imageField);
        var alpha = ImageCodec.DecodeAlpha(mask, limits, maskField);
        if (alpha.Width != imageHeader.Width || alpha.Height != imageHeader.Height)
            throw new InvalidRequestException(maskField, $"The mask is {alpha.Width}x{alpha.Height}; it must be the size of the image ({imageHeader.Width}x{imageHeader.Height}).");
        if (!alpha.Pixels.Any(a => a < 255))
            throw new InvalidRequestException(maskField, "The mask has no transparent pixels, so nothing would be edited: make the area to repaint transparent (alpha 0).");
        var resized = alpha.Width == width && alpha.Height == height ? alpha : PilResize.Resize(alpha, width, height, PilFilter.Bilinear);
        var weights = new float[width * height];
        for (var i = 0; i < weights.Length; i++) weights[i] = 1f - resized.Pixels[i * 3] / 255f;
        return weights;
    }
}
