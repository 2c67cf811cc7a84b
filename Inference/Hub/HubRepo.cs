using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace MultimodalHub.Inference.Hub;

/// <summary>A repository on the hub and the revision to pull: "owner/name" or "owner/name@revision" (branch, tag or commit).</summary>
public sealed partial record HubRepoRef(string Repo, string Revision)
{
    public const string DefaultRevision = "main";

    /// <summary>The repository's own name, the default model folder name ("Xenova/clip-vit-base-patch32" → "clip-vit-base-patch32").</summary>
    public string Name => Repo[(Repo.LastIndexOf('/') + 1)..];

    public override string ToString() => Revision == DefaultRevision ? Repo : $"{Repo}@{Revision}";

    /// <summary>Parse "owner/name[@revision]"; false with a reason when it is not a repository id.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out HubRepoRef? repo, [NotNullWhen(false)] out string? error)
    {
        repo = null;
        error = null;
        var t = text?.Trim() ?? "";
        var at = t.IndexOf('@', StringComparison.Ordinal);
        var id = at >= 0 ? t[..at] : t;
        var revision = at >= 0 ? t[(at + 1)..] : DefaultRevision;
        if (!RepoId().IsMatch(id) || id.Contains("..", StringComparison.Ordinal))
        {
            error = $"'{t}' is not a repository id; expected owner/name, e.g. Xenova/clip-vit-base-patch32 (optionally @revision).";
            return false;
        }
        if (revision.Length == 0 || revision.Any(char.IsWhiteSpace) || revision.Contains("..", StringComparison.Ordinal))
        {
            error = $"'{revision}' is not a revision; use a branch, a tag or a commit id.";
            return false;
        }
        repo = new HubRepoRef(id, revision);
        return true;
    }

    /// <summary>Names as the hub allows them: letters, digits, '.', '_', '-'; one optional owner.</summary>
    [GeneratedRegex(@"^([A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")]
    private static partial Regex RepoId();
}

/// <summary>One file of a repository at a commit, as GET /api/models/{repo}/revision/{rev}?blobs=true lists it.</summary>
/// <param name="Sha256">The LFS object id (sha256 of the content) for files stored in LFS, else null.</param>
/// <param name="BlobId">The git blob id (sha1 of "blob {size}\0" + content) of the file as committed.</param>
public sealed record HubFile(string Path, long? Size, string? Sha256, string? BlobId)
{
    public bool IsLfs => Sha256 is not null;
}

/// <summary>A repository at one commit: its files and whether it is gated.</summary>
public sealed record HubRepoInfo(string Repo, string Commit, IReadOnlyList<HubFile> Files, string? Gated)
{
    public HubFile? File(string path) => Files.FirstOrDefault(f => f.Path == path);
}
