using System.Security.Cryptography;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>Image bytes → RGB (ImageCodec with limits) → pixel_values (CLIPImageProcessor of the model), plus a content hash.</summary>
public static class VlmPreprocess
{
    /// <summary>Decode base64 or a data: URL; bad input → 400 naming the field.</summary>
    public static RgbImage Decode(string? image, ImageLimits limits, string field)
    {
        if (string.IsNullOrWhiteSpace(image)) throw new InvalidRequestException(field, "An image is required (base64 or a data: URL).");
        var payload = image.Trim();
        if (payload.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = payload.IndexOf(',');
            if (comma < 0 || !payload[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                throw new InvalidRequestException(field, "A data: URL must be base64 encoded (data:image/png;base64,...).");
            payload = payload[(comma + 1)..];
        }
        else if (payload.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || payload.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidRequestException(field, "Remote image URLs are not fetched; send the image as a base64 data: URL.");
        }
        if (payload.Length > limits.MaxBytes * 4 / 3 + 4) throw new InvalidRequestException(field, $"The image is larger than {limits.MaxBytes} bytes.");
        var bytes = new byte[payload.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(payload, bytes, out var written))
            throw new InvalidRequestException(field, "The image is not valid base64.");
        return ImageCodec.Decode(bytes.AsSpan(0, written), limits, field);
    }

    /// <summary>pixel_values [3, size, size] for one image.</summary>
    public static float[] PixelValues(VlmModel model, RgbImage image) => model.Processor.Preprocess(image);

    /// <summary>A stable hash of the decoded pixels (cache key of the image's features).</summary>
    public static string Hash(RgbImage image)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> head = stackalloc byte[8];
        BitConverter.TryWriteBytes(head, image.Width);
        BitConverter.TryWriteBytes(head[4..], image.Height);
        sha.AppendData(head);
        sha.AppendData(image.Pixels);
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..32];
    }
}
