using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Services;

/// <summary>Content-addressed image bytes under the blob folder (blobs/ab/cd/&lt;sha256&gt;.&lt;ext&gt;), deduplicated.</summary>
public interface IBlobStore
{
    /// <summary>Sniffs the format from the bytes, checks limits, stores once. Throws <see cref="InvalidImageException"/>.</summary>
    Task<StoredImage> PutAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct = default);
    /// <summary>Reads at most MaxImageBytes from the stream, then as <see cref="PutAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.</summary>
    Task<StoredImage> PutAsync(Stream stream, CancellationToken ct = default);
    /// <summary>Stores the image as <see cref="PutAsync(ReadOnlyMemory{byte}, CancellationToken)"/> and records that
    /// <paramref name="ownerId"/> stored it, so that owner may read it (<see cref="CanReadAsync"/>).</summary>
    Task<StoredImage> PutAsync(ReadOnlyMemory<byte> bytes, string ownerId, CancellationToken ct = default);
    /// <inheritdoc cref="PutAsync(ReadOnlyMemory{byte}, string, CancellationToken)"/>
    Task<StoredImage> PutAsync(Stream stream, string ownerId, CancellationToken ct = default);
    /// <summary>Whether the scope may read the image: admins always; others when they stored it or one of their runs,
    /// chat messages or votes uses it. False for unknown images too, so a guessed hash finds nothing.</summary>
    Task<bool> CanReadAsync(string sha256, OwnerScope owner, CancellationToken ct = default);
    Task<StoredImage?> GetAsync(string sha256, CancellationToken ct = default);
    Task<BlobContent?> OpenAsync(string sha256, CancellationToken ct = default);
    /// <summary>The whole image in memory, or null when it is not stored (or its file is gone).</summary>
    Task<StoredBytes?> ReadAllAsync(string sha256, CancellationToken ct = default);
    /// <summary>A thumbnail (WebP) generated on first request and cached on disk; maxSize is snapped to
    /// <see cref="ThumbnailSizes"/> (smallest of 128/256/512/1024 ≥ maxSize), the longest side is at most that size.</summary>
    Task<BlobContent?> OpenThumbnailAsync(string sha256, int? maxSize = null, CancellationToken ct = default);
    /// <summary>Deletes the row, bytes and thumbnails when no run, chat message or vote references the image.</summary>
    Task<bool> DeleteIfUnreferencedAsync(string sha256, CancellationToken ct = default);
    /// <summary>Deletes, as <see cref="DeleteIfUnreferencedAsync"/>, up to <paramref name="limit"/> images last stored before
    /// <paramref name="storedBefore"/> that nothing references (uploads that never became part of a run, chat or vote).
    /// Returns how many were deleted.</summary>
    Task<int> SweepUnattachedAsync(DateTimeOffset storedBefore, int limit = 500, CancellationToken ct = default);
}

/// <summary>Every run of every engine: lifecycle, history listing, gallery, favourites, delete.</summary>
public interface IRunStore
{
    Task<Run> CreateAsync(NewRun run, CancellationToken ct = default);
    // Transitions return false when the run is unknown or already finished (succeeded/failed/cancelled),
    // e.g. a run already marked failed by startup recovery. Pass CancellationToken.None when recording the
    // outcome of a request that was itself cancelled, so the write is not cancelled too.
    Task<bool> MarkRunningAsync(long runId, CancellationToken ct = default);
    Task<bool> MarkSucceededAsync(long runId, RunOutputs outputs, CancellationToken ct = default);
    Task<bool> MarkFailedAsync(long runId, string error, string? timingsJson = null, CancellationToken ct = default);
    Task<bool> MarkCancelledAsync(long runId, string? timingsJson = null, CancellationToken ct = default);
    /// <summary>The run with its images (outputs first, then inputs, each by position), or null.</summary>
    Task<Run?> GetAsync(long runId, OwnerScope owner, CancellationToken ct = default);
    /// <summary>Runs newest first, without their images (<see cref="GetAsync"/> loads those).</summary>
    Task<Page<Run>> ListAsync(RunQuery query, CancellationToken ct = default);
    /// <summary>Image tiles newest first (outputs and inputs of the runs matching the query).</summary>
    Task<Page<GalleryItem>> ListGalleryAsync(RunQuery query, CancellationToken ct = default);
    /// <summary>For semantic search results: the newest gallery item of the owner for each image, in the given order
    /// (images the owner has no run for are left out).</summary>
    Task<IReadOnlyList<GalleryItem>> GalleryItemsForImagesAsync(IReadOnlyList<string> sha256s, OwnerScope owner, CancellationToken ct = default);
    /// <summary>As above, but each image's newest run among those matching the filter (owner, kind, model, status, dates,
    /// favourites, full text; paging is ignored): an image whose newest run is of another kind still shows through
    /// its matching run.</summary>
    Task<IReadOnlyList<GalleryItem>> GalleryItemsForImagesAsync(IReadOnlyList<string> sha256s, RunQuery filter, CancellationToken ct = default);
    /// <summary>Distinct models used, for filter dropdowns.</summary>
    Task<IReadOnlyList<string>> ListModelsAsync(OwnerScope owner, CancellationToken ct = default);
    Task<bool> SetFavouriteAsync(long runId, bool favourite, OwnerScope owner, CancellationToken ct = default);
    /// <summary>Deletes the run (and its share items); its blobs go too when nothing else references them.</summary>
    Task<bool> DeleteAsync(long runId, OwnerScope owner, CancellationToken ct = default);
}

/// <summary>Share links /s/{token} for one run or a collection.</summary>
public interface IShareService
{
    Task<ShareLinkSummary> CreateAsync(ShareRequest request, CancellationToken ct = default);
    /// <summary>Only the owner (or an admin) can revoke; returns false when the link is not theirs or unknown.</summary>
    Task<bool> RevokeAsync(long linkId, OwnerScope owner, CancellationToken ct = default);
    Task<IReadOnlyList<ShareLinkSummary>> ListAsync(OwnerScope owner, CancellationToken ct = default);
    /// <summary>The shared content, counting one view; null alike for unknown, expired and revoked tokens. Images the
    /// safety check flagged are left out (counted in <see cref="SharedRun.HiddenImages"/>).</summary>
    Task<SharedContent?> ResolveAsync(string token, bool countView = true, CancellationToken ct = default);
    /// <summary>Whether the image belongs to the active link's shared runs, unflagged by the safety check (no view counted).</summary>
    Task<bool> IsImageSharedAsync(string token, string sha256, CancellationToken ct = default);
}

/// <summary>Thumbs, A/B votes, preference export and Elo ranking.</summary>
public interface IRatingService
{
    Task<bool> SetThumbAsync(long runId, Thumb thumb, OwnerScope owner, CancellationToken ct = default);
    /// <summary>Records a vote of the scope's owner on two images (both readable by them) or two chat answers (texts);
    /// both runs, if given, must be theirs.</summary>
    Task<AbVote> RecordAbVoteAsync(OwnerScope owner, string prompt, AbCandidate a, AbCandidate b, AbWinner winner, CancellationToken ct = default);
    Task<IReadOnlyList<AbVote>> ListAbVotesAsync(OwnerScope owner, CancellationToken ct = default);
    /// <summary>Preference pairs from A/B votes (source "ab" for images, "arena" for chat answers; ties and both-bad
    /// skipped) and thumbs (up vs down runs of the same kind and prompt).</summary>
    Task<IReadOnlyList<PreferencePair>> PreferencePairsAsync(OwnerScope owner, CancellationToken ct = default);
    /// <summary>Writes the pairs as JSONL (snake_case: prompt, chosen, rejected, ...); returns the number of lines.</summary>
    Task<int> ExportPreferencePairsAsync(Stream output, OwnerScope owner, CancellationToken ct = default);
    /// <summary>Elo ratings of contenders from A/B votes of the given kind in time order, best first.</summary>
    Task<IReadOnlyList<EloEntry>> EloRankingAsync(OwnerScope owner, AbVoteKind kind = AbVoteKind.All, double kFactor = 32, double initial = 1500, CancellationToken ct = default);
}

/// <summary>Image embeddings per model, for semantic (text-to-image) search.</summary>
public interface IEmbeddingStore
{
    Task UpsertAsync(string imageSha256, string modelId, ReadOnlyMemory<float> vector, CancellationToken ct = default);
    Task<float[]?> GetAsync(string imageSha256, string modelId, CancellationToken ct = default);
    /// <summary>Every stored image of the model by cosine similarity to the query vector, highest first.</summary>
    Task<IReadOnlyList<NearestImage>> NearestAsync(string modelId, ReadOnlyMemory<float> query, int k = 20, CancellationToken ct = default);
    /// <summary>The images passing the filter (owner, kind, model, date of the runs using them; applied before ranking)
    /// by cosine similarity to the query vector, highest first, from the in-memory vector index.</summary>
    Task<IReadOnlyList<NearestImage>> NearestAsync(string modelId, ReadOnlyMemory<float> query, ImageVectorFilter filter, int k = 20, CancellationToken ct = default);
    /// <summary>Stored images that have no embedding for the model yet (for backfill).</summary>
    Task<IReadOnlyList<string>> MissingAsync(string modelId, int limit = 100, CancellationToken ct = default);
}

/// <summary>Chat conversations and their messages.</summary>
public interface IChatStore
{
    Task<ChatSession> CreateSessionAsync(OwnerScope owner, string model, string? title = null, string? systemPrompt = null, string? parametersJson = null, CancellationToken ct = default);
    /// <summary>Appends to a session the scope sees; an unknown or foreign session is an <see cref="ArgumentException"/>.</summary>
    Task<ChatMessageEntity> AppendAsync(long sessionId, NewChatMessage message, OwnerScope owner, CancellationToken ct = default);
    /// <summary>The session with messages in order, or null (unknown or not visible in the scope).</summary>
    Task<ChatSession?> GetAsync(long sessionId, OwnerScope owner, CancellationToken ct = default);
    Task<IReadOnlyList<ChatSessionSummary>> ListAsync(OwnerScope owner, CancellationToken ct = default);
    Task<bool> RenameAsync(long sessionId, string title, OwnerScope owner, CancellationToken ct = default);
    /// <summary>Deletes the conversation and its messages (attached images go when nothing else uses them); its runs stay in history.</summary>
    Task<bool> DeleteAsync(long sessionId, OwnerScope owner, CancellationToken ct = default);
}

/// <summary>Marks runs left queued or running by a previous process as failed.</summary>
public interface IStartupRecovery
{
    Task<int> RecoverAsync(CancellationToken ct = default);
}

/// <summary>
/// Sentence-embedding vectors of stored texts (prompts, captions and answers, chat messages) per model, for search by
/// meaning. <see cref="NearestAsync"/> is the one place a vector index would replace the exact scan.
/// </summary>
public interface ITextEmbeddingStore
{
    /// <summary>Stores (or replaces) the vector of one text for a model.</summary>
    Task UpsertAsync(TextToEmbed text, string modelId, ReadOnlyMemory<float> vector, CancellationToken ct = default);
    /// <summary>Texts that have no vector for the model yet, oldest first (for indexing new runs and backfilling old ones).</summary>
    Task<IReadOnlyList<TextToEmbed>> MissingAsync(string modelId, int limit = 64, CancellationToken ct = default);
    /// <summary>The owner's texts by cosine similarity to the query vector, highest first, with what the gallery shows of them.</summary>
    Task<IReadOnlyList<TextSearchHit>> NearestAsync(string modelId, ReadOnlyMemory<float> query, OwnerScope owner, int k = 20, CancellationToken ct = default);
}
