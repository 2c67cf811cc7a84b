using System.Security.Cryptography;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>Image bytes → RGB (ImageCodec with limits) → pixel_values (CLIPImageProcessor of the model), plus a content hash.</summary>
public static class VlmPreprocess
{
    /// <summary>Decode base64 or a data: URL; bad input → 400 naming the field.</summary>
    public static RgbImage Decode(string? image, ImageLimits limits, string field) =>
        ImageCodec.Decode(ImagePayload.FromBase64(image, field, limits), limits, field);

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
