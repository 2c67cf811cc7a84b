using System.Text.Json;
using MultimodalHub.Contracts;

namespace MultimodalHub.Inference.Hub;

/// <summary>
/// ".hub-pull.json" in a pulled model's folder: where it came from (repository, revision, commit, hub) and the hashes of
/// its files, so a later pull skips what is already there, `models info` can say where a model came from, and a pull
/// never overwrites a folder that holds another model.
/// </summary>
public sealed record PullManifest(string Repo, string Revision, string Commit, string Endpoint, ModelKind Kind, IReadOnlyList<string> Variants,
    DateTimeOffset PulledAt, IReadOnlyList<PullManifestFile> Files)
{
    public const string FileName = ".hub-pull.json";

    private static readonly JsonSerializerOptions Json = CreateJson();

    private static JsonSerializerOptions CreateJson()
    {
        var o = HubJson.Create();
        o.WriteIndented = true;
        return o;
    }

    /// <summary>The manifest of a model folder, or null (none, unreadable).</summary>
    public static PullManifest? Read(string modelDir)
    {
        var path = Path.Combine(modelDir, FileName);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<PullManifest>(File.ReadAllBytes(path), Json) : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Write(string modelDir) => File.WriteAllBytes(Path.Combine(modelDir, FileName), JsonSerializer.SerializeToUtf8Bytes(this, Json));

    /// <summary>Whether <paramref name="modelDir"/> holds <paramref name="file"/> as the hub has it (same size and hash as recorded).</summary>
    public bool Holds(string modelDir, HubFile file)
    {
        var recorded = Files.FirstOrDefault(f => f.Path == file.Path);
        if (recorded is null) return false;
        var info = new FileInfo(Path.Combine(modelDir, file.Path));
        return info.Exists && (file.Size is null || info.Length == file.Size) && info.Length == recorded.Size
            && (file.Sha256 is null || string.Equals(file.Sha256, recorded.Sha256, StringComparison.OrdinalIgnoreCase))
            && (file.BlobId is null || file.Sha256 is not null || string.Equals(file.BlobId, recorded.BlobId, StringComparison.OrdinalIgnoreCase));
    }
}

public sealed record PullManifestFile(string Path, long Size, string? Sha256, string? BlobId);
