namespace MultimodalHub.Contracts;

/// <summary>
/// POST /v1/models/pulls and GET /v1/models/pulls/preview: a model repository on a Hugging Face-style hub to download.
/// </summary>
/// <param name="Repo">"owner/name", optionally "@revision" (branch, tag or commit).</param>
/// <param name="Revision">The revision when <paramref name="Repo"/> names none; default "main".</param>
/// <param name="Variant">fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4; null: the first the repository has in the CPU preference order.</param>
/// <param name="Kind">clip, chat, vlm, diffusion, embedding; null: recognised from the repository's files.</param>
/// <param name="Name">The model id (folder name); null: the repository's name.</param>
public sealed record ModelPullRequest(string Repo, string? Revision = null, string? Variant = null, string? Kind = null, string? Name = null);

public enum PullStatus { Queued, Running, Completed, Failed, Cancelled }

/// <summary>Pending (not started), downloading, done (downloaded and verified in this pull), present (already on disk), failed.</summary>
public enum PullFileStatus { Pending, Downloading, Done, Present, Failed }

/// <param name="Lfs">Stored in LFS (verified by sha256); other files are verified by their git blob id.</param>
public sealed record PullFileInfo(string Path, long Size, long Done, PullFileStatus Status, bool Lfs, double? BytesPerSecond = null, double? EtaSeconds = null);

/// <summary>What a pull would download: the files of the chosen variant and their size, before any byte is fetched.</summary>
/// <param name="DownloadBytes">Bytes still to download (files already on disk, or partly downloaded, count less).</param>
/// <param name="FreeBytes">Free space on the models root's disk.</param>
public sealed record PullPreview(
    string Repo, string Revision, string Commit, ModelKind Kind, string Variant, IReadOnlyList<string> Variants, string Name, string Directory,
    IReadOnlyList<PullFileInfo> Files, long TotalBytes, long DownloadBytes, long FreeBytes, string? Gated);

/// <summary>A pull job of the service: progress per file, rate and ETA, and the model it produced or why it failed.</summary>
/// <param name="ErrorKind">not_found, unauthorized, network, checksum, disk_full, offline, unsupported, conflict.</param>
public sealed record PullJobInfo(
    string Id, string Repo, string Revision, string? Variant, string Name, PullStatus Status,
    long TotalBytes, long DoneBytes, double BytesPerSecond, double? EtaSeconds, IReadOnlyList<PullFileInfo> Files,
    string? Error, string? ErrorKind, string? Kind, string? Commit, DateTimeOffset Created, DateTimeOffset? Finished);

public sealed record PullJobList(IReadOnlyList<PullJobInfo> Data);

/// <summary>The outcome of a finished pull (the CLI's output).</summary>
/// <param name="Downloaded">Bytes fetched in this pull (0 when every file was already there).</param>
public sealed record PullResult(
    string Model, string Directory, string Repo, string Revision, string Commit, ModelKind Kind, string Variant,
    IReadOnlyList<PullFileInfo> Files, long TotalBytes, long Downloaded, double Seconds, bool AlreadyPresent);

/// <summary>DELETE /v1/models/{id}: what was removed.</summary>
public sealed record ModelDeleted(string Id, string Path, long Bytes, bool Deleted);
