namespace MultimodalHub.Data.Entities;

/// <summary>A content-addressed image: the id is the lowercase hex SHA-256 of its bytes; bytes live in the blob folder.</summary>
public sealed class StoredImage
{
    public required string Sha256 { get; set; }
    public int Width { get; set; }
    public int Height { get; set; }
    /// <summary>Sniffed from the bytes (image/png, image/jpeg, image/webp, image/gif, image/bmp), never from the client.</summary>
    public required string MimeType { get; set; }
    public long ByteSize { get; set; }
    /// <summary>When these bytes were last stored: storing the same image again moves it forward, so the sweep of
    /// unattached uploads (<see cref="DataOptions.UnattachedImageRetention"/>) never takes an image a page was just given.</summary>
    public DateTimeOffset Created { get; set; }

    /// <summary>File extension for the mime type, without dot.</summary>
    public string Extension => ImageFormats.ExtensionOf(MimeType);
}
