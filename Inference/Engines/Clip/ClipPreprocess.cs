using System.Diagnostics;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>An image as the caller sent it: its bytes, the request field it came from (for errors), its file name.</summary>
public sealed record ClipImageInput(byte[] Bytes, string Field, string? Filename = null);

/// <summary>Images from requests to pixel_values: guarded decoding, CLIPImageProcessor (base64 parsing is Imaging/ImagePayload).</summary>
public static class ClipPreprocess
{
    /// <summary>Decode every image (errors name the image's field); returns the images and the time taken.</summary>
    public static (RgbImage[] Images, TimeSpan Elapsed) DecodeAll(IReadOnlyList<ClipImageInput> inputs, ImageLimits limits)
    {
        var sw = Stopwatch.StartNew();
        var images = new RgbImage[inputs.Count];
        var errors = new Exception?[inputs.Count];
        Parallel.For(0, inputs.Count, i =>
        {
            try { images[i] = ImageCodec.Decode(inputs[i].Bytes, limits, inputs[i].Field); }
            catch (Exception e) { errors[i] = e; }
        });
        // Report the first bad image by position, as a sequential decode would.
        if (errors.FirstOrDefault(e => e is not null) is { } first) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        return (images, sw.Elapsed);
    }

    /// <summary>NCHW float32 pixel values for the vision tower.</summary>
    public static float[] PixelValues(ClipImageProcessor processor, IReadOnlyList<RgbImage> images) => processor.PreprocessBatch(images);
}
