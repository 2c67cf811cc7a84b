namespace MultimodalHub.Data.Storage;

/// <summary>Maps sha256 ids to paths under the blob root; rejects anything that is not a 64-char lowercase hex id.</summary>
internal sealed class BlobPaths(string root)
{
    public string Root { get; } = Path.GetFullPath(root);

    public static bool IsSha256(string? id) =>
        id is { Length: 64 } && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    public string ImagePath(string sha256, string extension) =>
        Inside(Path.Combine(Root, sha256[..2], sha256[2..4], $"{sha256}.{extension}"), sha256);

    public string ThumbnailPath(string sha256, int size) =>
        Inside(Path.Combine(Root, "thumbs", size.ToString(System.Globalization.CultureInfo.InvariantCulture), sha256[..2], sha256[2..4], $"{sha256}.webp"), sha256);

    public string ThumbnailRoot => Path.Combine(Root, "thumbs");

    private string Inside(string path, string sha256)
    {
        if (!IsSha256(sha256))
            throw new ArgumentException("Not a sha256 image id.", nameof(sha256));
        var full = Path.GetFullPath(path);
        if (!full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidOperationException("Blob path escapes the blob folder.");
        return full;
    }
}
