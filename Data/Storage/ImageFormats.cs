namespace MultimodalHub.Data;

/// <summary>Image format detection from magic bytes (the client's content type and file name are never trusted).</summary>
public static class ImageFormats
{
    private static ReadOnlySpan<byte> PngMagic => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public const string Png = "image/png";
    public const string Jpeg = "image/jpeg";
    public const string Webp = "image/webp";
    public const string Gif = "image/gif";
    public const string Bmp = "image/bmp";

    /// <summary>The mime type of a supported raster format, or null.</summary>
    public static string? Sniff(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 8 && b[..8].SequenceEqual(PngMagic))
            return Png;
        if (b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
            return Jpeg;
        if (b.Length >= 12 && b[..4].SequenceEqual("RIFF"u8) && b.Slice(8, 4).SequenceEqual("WEBP"u8))
            return Webp;
        if (b.Length >= 6 && (b[..6].SequenceEqual("GIF87a"u8) || b[..6].SequenceEqual("GIF89a"u8)))
            return Gif;
        if (b.Length >= 26 && b[0] == (byte)'B' && b[1] == (byte)'M')
            return Bmp;
        return null;
    }

    public static string ExtensionOf(string mimeType) => mimeType switch
    {
        Png => "png",
        Jpeg => "jpg",
        Webp => "webp",
        Gif => "gif",
        Bmp => "bmp",
        _ => "bin",
    };
}
