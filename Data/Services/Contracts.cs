using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Services;

/// <summary>A page of results plus the total count matching the filter (for virtualised lists and pagers).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, int Total);

/// <summary>Bytes of a stored blob or thumbnail. Dispose the stream.</summary>
public sealed record BlobContent(Stream Stream, string MimeType, long Length) : IDisposable
{
    public void Dispose() => Stream.Dispose();
}

/// <summary>A stored image's bytes in memory, for sending it on (e.g. base64 in a JSON request).</summary>
public sealed record StoredBytes(byte[] Bytes, string MimeType)
{
    public string Base64 => Convert.ToBase64String(Bytes);
    public string DataUrl => $"data:{MimeType};base64,{Base64}";
}

/// <summary>Input for a new run. Parameters are stored verbatim as JSON.</summary>
public sealed record NewRun(
    RunKind Kind,
    string Model,
    string? Prompt = null,
    string? NegativePrompt = null,
    string? ParametersJson = null,
    IReadOnlyList<string>? InputImages = null,
    long? ChatSessionId = null,
    long? ParentRunId = null)
{
    /// <summary>Whose run it is (the signed-in account's owner id).</summary>
    public required string OwnerId { get; init; }
}

/// <summary>Outputs of a succeeded run. OutputImages are sha256 ids already put in the blob store; OutputSafety, when
/// given, the safety check's verdict for each of them (same order).</summary>
public sealed record RunOutputs(
    string? Text = null,
    string? LabelScoresJson = null,
    IReadOnlyList<string>? OutputImages = null,
    string? TimingsJson = null,
    IReadOnlyList<ImageVerdict?>? OutputSafety = null);

/// <summary>The safety check's verdict on an output image: flagged, and the verdict as JSON.</summary>
public sealed record ImageVerdict(bool Flagged, string? Json = null);

/// <summary>History/gallery filter. All criteria are optional and combined with AND.</summary>
public sealed record RunQuery
{
    /// <summary>Whose runs: one owner's, or everyone's for admins.</summary>
    public required OwnerScope Owner { get; init; }
    public RunKind? Kind { get; init; }
    public string? Model { get; init; }
    public RunStatus? Status { get; init; }
    public DateTimeOffset? From { get; init; }
    /// <summary>Exclusive upper bound.</summary>
    public DateTimeOffset? To { get; init; }
    public bool FavouritesOnly { get; init; }
    /// <summary>Full-text search over prompt, negative prompt, output text and model (word prefixes, all words must match).</summary>
    public string? Text { get; init; }
    public long? ChatSessionId { get; init; }
    public int Skip { get; init; }
    public int Take { get; init; } = 50;
}

/// <summary>One image tile of the gallery: the image plus the run it belongs to.</summary>
public sealed record GalleryItem(
    long RunId,
    string ImageSha256,
    RunImageRole Role,
    int Position,
    int Width,
    int Height,
    string MimeType,
    RunKind Kind,
    string Model,
    string? Prompt,
    RunStatus Status,
    bool Favourite,
    Thumb Rating,
    DateTimeOffset Created,
    bool Flagged = false);

public sealed record ShareRequest(
    IReadOnlyList<long> RunIds,
    ShareExpiry Expiry = ShareExpiry.Never,
    string? Title = null,
    string OwnerId = Owner.LocalId);

public sealed record ShareLinkSummary(
    long Id,
    string Token,
    ShareKind Kind,
    string? Title,
    DateTimeOffset Created,
    DateTimeOffset? ExpiresAt,
    bool Revoked,
    long ViewCount,
    IReadOnlyList<long> RunIds,
    bool IsActive);

/// <summary>What a share link reveals: only these fields of the shared runs, nothing else.</summary>
public sealed record SharedContent(
    string Token,
    ShareKind Kind,
    string? Title,
    DateTimeOffset Created,
    DateTimeOffset? ExpiresAt,
    long ViewCount,
    IReadOnlyList<SharedRun> Runs);

public sealed record SharedRun(
    long Id,
    RunKind Kind,
    string Model,
    string? Prompt,
    string? NegativePrompt,
    string ParametersJson,
    string? OutputText,
    string? LabelScoresJson,
    string? TimingsJson,
    DateTimeOffset Created,
    IReadOnlyList<SharedImage> Images,
    int HiddenImages = 0);

public sealed record SharedImage(string Sha256, RunImageRole Role, int Position, int Width, int Height, string MimeType);

/// <summary>One side of an A/B comparison: an image (by id) or a text answer (<see cref="Text"/>, the arena's chat
/// answers). Contender defaults to the run's model when a run is given.</summary>
public sealed record AbCandidate(string? ImageSha256, long? RunId = null, string? Contender = null, string? Text = null)
{
    /// <summary>A chat answer as one side.</summary>
    public static AbCandidate OfText(string text, string contender, long? runId = null) => new(null, runId, contender, text);

    public bool IsText => Text is not null;
}

public sealed record EloEntry(string Contender, double Rating, int Wins, int Losses, int Ties)
{
    public int Games => Wins + Losses + Ties;
}

/// <summary>One JSONL line of the preference export.</summary>
public sealed record PreferencePair(
    string Prompt,
    string Chosen,
    string Rejected,
    string? ChosenModel,
    string? RejectedModel,
    string Source,
    DateTimeOffset Created);

public sealed record NearestImage(string ImageSha256, float Score);

/// <summary>
/// Which images a semantic search ranks: those used by at least one run matching every given criterion (owner, kind,
/// model, created in [From, To)). Applied before ranking, so k hits come back whenever k images match.
/// </summary>
public sealed record ImageVectorFilter(string? OwnerId = Owner.LocalId, RunKind? Kind = null, string? Model = null, DateTimeOffset? From = null, DateTimeOffset? To = null)
{
    /// <summary>No criterion: every stored vector of the model, used by a run or not.</summary>
    public static ImageVectorFilter None { get; } = new(OwnerId: null);

    public bool IsEmpty => OwnerId is null && Kind is null && Model is null && From is null && To is null;
}

/// <summary>One stored text to embed: <paramref name="ItemId"/> is the run id (run sources) or the chat message id.</summary>
public sealed record TextToEmbed(TextSource Source, long ItemId, string Text);

/// <summary>A text found by meaning: the text, its score, and the run or conversation it belongs to (with the run's first image, if any).</summary>
public sealed record TextSearchHit(
    TextSource Source,
    long ItemId,
    float Score,
    string Text,
    string Model,
    RunKind? Kind,
    long? RunId,
    long? ChatSessionId,
    string? ChatTitle,
    string? ImageSha256,
    DateTimeOffset Created);

public sealed record ChatSessionSummary(long Id, string Title, string Model, DateTimeOffset Created, DateTimeOffset Updated, int MessageCount);

public sealed record NewChatMessage(string Role, string Content, string? ImageSha256 = null, long? RunId = null);

/// <summary>The uploaded bytes are not an image the store accepts (unknown format, corrupt, too large). Map to 400.</summary>
public sealed class InvalidImageException(string message) : Exception(message)
{
    public string Field { get; init; } = "image";
}

/// <summary>A run names an input image the store does not have (never stored, or an unused upload swept after
/// <see cref="DataOptions.UnattachedImageRetention"/>). Map to 400.</summary>
public sealed class ImageNotStoredException(string sha256)
    : ArgumentException($"Image {sha256} is not stored (uploads that no run uses are removed after a while): add it again.", "images")
{
    public string Sha256 { get; } = sha256;
}
