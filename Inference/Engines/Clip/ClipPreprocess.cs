using System.Diagnostics;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>An image as the caller sent it: its bytes, the request field it came from (for errors), its file name.</summary>
public sealed record ClipImageInput(byte[] Bytes, string Field, string? Filename = null);

/// <summary>Images from requests to pixel_values: base64/data-URL parsing, guarded decoding, CLIPImageProcessor.</summary>
public static class ClipPreprocess
{
    /// <summary>Bytes of a JSON image string: a data URL ("data:image/png;base64,...") or raw base64.</summary>
    public static byte[] FromBase64(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new InvalidRequestException(field, "The image is empty.");
        var s = value.AsSpan().Trim();
        if (s.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || s.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new InvalidRequestException(field, "Image URLs are not fetched by the service; send the image as base64, a data URL, or a multipart file.");
        if (s.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = s.IndexOf(',');
            if (comma < 0 || !s[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                throw new InvalidRequestException(field, "A data URL image must be base64 encoded (data:image/png;base64,...).");
            s = s[(comma + 1)..];
        }
        var buffer = new byte[s.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64Chars(s, buffer, out var written))
        {
            try { return Convert.FromBase64String(s.ToString()); } // tolerates embedded whitespace/newlines
            catch (FormatException) { throw new InvalidRequestException(field, "The image is not valid base64."); }
        }
        return buffer[..written];
    }

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
