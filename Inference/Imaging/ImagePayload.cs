using System.Globalization;

namespace MultimodalHub.Inference.Imaging;

/// <summary>An image given in a JSON field: base64, or a data: URL (data:image/png;base64,...).</summary>
public static class ImagePayload
{
    /// <summary>
    /// The image's bytes. The size is checked before anything is decoded (base64 longer than
    /// <see cref="ImageLimits.MaxBytes"/> allows is rejected as it stands); http(s) URLs get a clear "not fetched";
    /// a data: URL must be base64. Every failure is an <see cref="ImageRejectedException"/> naming <paramref name="field"/>.
    /// </summary>
    public static byte[] FromBase64(string? text, string field, ImageLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (string.IsNullOrWhiteSpace(text)) throw new ImageRejectedException(field, "An image is required (base64 or a data: URL).");
        var payload = text.AsSpan().Trim();
        if (payload.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = payload.IndexOf(',');
            if (comma < 0 || !payload[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                throw new ImageRejectedException(field, "A data: URL must be base64 encoded (data:image/png;base64,...).");
            payload = payload[(comma + 1)..].Trim();
        }
        else if (payload.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || payload.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ImageRejectedException(field, "Remote image URLs are not fetched; send the image as base64 or a base64 data: URL.");
        }
        if (payload.Length > limits.MaxBytes / 3 * 4 + 8)
            throw new ImageRejectedException(field, string.Create(CultureInfo.InvariantCulture,
                $"The image is about {payload.Length * 3L / 4 / 1048576.0:0.#} MB; the limit is {limits.MaxBytes / 1048576.0:0.#} MB (Limits:Images:MaxBytes)."));
        var bytes = new byte[payload.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(payload, bytes, out var written))
            throw new ImageRejectedException(field, $"{field} is not valid base64 (give base64 or a data: URL).");
        return bytes.AsSpan(0, written).ToArray();
    }
}
