using System.Security.Cryptography;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>One image's pixel_values: Tiles frames [3, Side, Side] (one in the single-image layout; an Idefics3 grid of Rows × Cols plus the global image).</summary>
public sealed record VlmPixels(float[] Values, int Tiles, int Side, int Rows = 0, int Cols = 0);

/// <summary>Image bytes → RGB (ImageCodec with limits) → pixel_values (the model's image processor), plus a content hash.</summary>
public static class VlmPreprocess
{
    /// <summary>Decode base64 or a data: URL; bad input → 400 naming the field.</summary>
    public static RgbImage Decode(string? image, ImageLimits limits, string field) =>
        ImageCodec.Decode(ImagePayload.FromBase64(image, field, limits), limits, field);

    /// <summary>pixel_values [3, size, size] for one image (single-image layout: CLIPImageProcessor).</summary>
    public static float[] PixelValues(VlmModel model, RgbImage image) => model.Processor.Preprocess(image);

    /// <summary>One image's pixel_values in the model's layout.</summary>
    public static VlmPixels Pixels(VlmModel model, RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Idefics3Processor is not { } idefics3) return new VlmPixels(PixelValues(model, image), 1, model.Processor.Size);
        var p = idefics3.Preprocess(image);
        return new VlmPixels(p.Values, p.Tiles, p.TileSize, p.Rows, p.Cols);
    }

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
