using MultimodalHub.Inference.Imaging;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>Img2img input: the uploaded image decoded with the shared guards and resized (PIL bicubic) to the output size.</summary>
public static class DiffusionImages
{
    public static RgbImage DecodeResized(byte[] bytes, int width, int height, ImageLimits limits, string field)
    {
        var image = ImageCodec.Decode(bytes, limits, field);
        return image.Width == width && image.Height == height ? image : PilResize.Resize(image, width, height, PilFilter.Bicubic);
    }
}
