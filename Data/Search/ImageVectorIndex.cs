using System.Runtime.InteropServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;

namespace MultimodalHub.Data.Search;

/// <summary>
/// The in-memory index behind <see cref="IEmbeddingStore.NearestAsync(string, ReadOnlyMemory{float}, ImageVectorFilter, int, CancellationToken)"/>:
/// one <see cref="VectorIndex{TKey, TMeta}"/> per model and vector size, loaded from the Embeddings table on its first
/// search, and beside it what the filters need of each image: the runs that use it (owner, kind, model, created).
/// <para>
/// Kept in step with the database, whoever wrote it (this process or another sharing the database): before each search
/// two aggregate queries compare the table with what the index holds (embeddings of the model: count and newest
/// Created; RunImages: count, largest and summed run id). New or replaced vectors (Created at or after the newest one
/// held) and runs with larger ids are read incrementally; when the counts still differ (rows deleted, output images
/// added to an older run) that part is reloaded whole.
/// </para>
/// </summary>
internal sealed partial class ImageVectorIndex(IDbContextFactory<HubDbContext> dbs, IOptions<DataOptions> options, ILogger<ImageVectorIndex> logger) : IDisposable
{
    private readonly SemaphoreSlim _sync = new(1, 1);
    private readonly Dictionary<(string Model, int Dimensions), ModelVectors> _models = [];
    private readonly Dictionary<string, ImageUses> _uses = new(StringComparer.Ordinal);
    private UsesPrint _usesPrint = new(0, 0, 0);
    private bool _usesLoaded;

    public async Task<IReadOnlyList<NearestImage>> SearchAsync(string modelId, ReadOnlyMemory<float> query, int k, ImageVectorFilter? filter, CancellationToken ct)
    {
        k = Math.Clamp(k, 1, 1000);
        ModelVectors vectors;
        await _sync.WaitAsync(ct);
        try
        {
            vectors = await RefreshVectorsAsync(modelId, query.Length, ct);
            if (filter is { IsEmpty: false })
                await RefreshUsesAsync(ct);
        }
        finally { _sync.Release(); }

        Func<ImageUses, bool>? predicate = null;
        if (filter is { IsEmpty: false })
        {
            var from = filter.From?.ToUnixTimeMilliseconds() ?? long.MinValue;
            var to = filter.To?.ToUnixTimeMilliseconds() ?? long.MaxValue;
            predicate = u => u.Matches(filter.OwnerId, filter.Kind, filter.Model, from, to);
        }
        return vectors.Index.Search(query.Span, k, predicate)
            .Select(h => new NearestImage(h.Key, h.Score)).ToList();
    }

    /// <summary>Adds a vector just stored to an index already loaded (a later search would read it too; this saves the read).</summary>
    public void Stored(string imageSha256, string modelId, ReadOnlySpan<float> vector)
    {
        if (!_sync.Wait(0))
            return; // a refresh is running: it or the next one reads the row
        try
        {
            if (_models.TryGetValue((modelId, vector.Length), out var vectors))
                vectors.Index.Upsert(imageSha256, vector, UsesOf(imageSha256));
        }
        finally { _sync.Release(); }
    }

    public void Dispose()
    {
        foreach (var m in _models.Values)
            m.Index.Dispose();
        _sync.Dispose();
    }

    private async Task<ModelVectors> RefreshVectorsAsync(string modelId, int dimensions, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var print = await db.Database.SqlQuery<VectorsPrint>($"""
            SELECT COUNT(*) AS "Count", COALESCE(MAX("Created"), 0) AS "Newest" FROM "Embeddings" WHERE "ModelId" = {modelId} AND "Dimensions" = {dimensions}
            """).SingleAsync(ct);
        if (!_models.TryGetValue((modelId, dimensions), out var vectors))
        {
            vectors = new ModelVectors(new VectorIndex<string, ImageUses>(dimensions, options.Value.VectorIndexPrecision, StringComparer.Ordinal));
            _models[(modelId, dimensions)] = vectors;
        }
        if (print.Count == vectors.Index.Count && print.Newest == vectors.Newest)
            return vectors;

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var full = vectors.Index.Count == 0;
        if (!full)
        {
            await LoadVectorsAsync(db, vectors, modelId, dimensions, vectors.Newest, ct);
            full = vectors.Index.Count != print.Count; // rows were deleted
        }
        if (full)
        {
            var fresh = new ModelVectors(new VectorIndex<string, ImageUses>(dimensions, options.Value.VectorIndexPrecision, StringComparer.Ordinal));
            await LoadVectorsAsync(db, fresh, modelId, dimensions, long.MinValue, ct);
            _models[(modelId, dimensions)] = fresh;
            vectors.Index.Dispose();
            vectors = fresh;
        }
        LogLoaded(modelId, dimensions, vectors.Index.Count, full, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return vectors;
    }

    private async Task LoadVectorsAsync(HubDbContext db, ModelVectors vectors, string modelId, int dimensions, long createdFrom, CancellationToken ct)
    {
        var from = createdFrom == long.MinValue ? DateTimeOffset.MinValue : DateTimeOffset.FromUnixTimeMilliseconds(createdFrom);
        var rows = db.Embeddings.AsNoTracking()
            .Where(e => e.ModelId == modelId && e.Dimensions == dimensions && e.Created >= from)
            .Select(e => new { e.ImageSha256, e.Vector, e.Created })
            .AsAsyncEnumerable();
        await foreach (var row in rows.WithCancellation(ct))
        {
            var v = MemoryMarshal.Cast<byte, float>(row.Vector);
            if (v.Length != dimensions)
                continue;
            var norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
            if (!(norm > 0) || !float.IsFinite(norm))
                vectors.Index.Remove(row.ImageSha256); // a zero vector is never a hit (as in the scan it replaces)
            else
                vectors.Index.Upsert(row.ImageSha256, v, UsesOf(row.ImageSha256));
            vectors.Newest = Math.Max(vectors.Newest, row.Created.ToUnixTimeMilliseconds());
        }
    }

    private async Task RefreshUsesAsync(CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var print = await ReadUsesPrintAsync(db, ct);
        if (_usesLoaded && print == _usesPrint)
            return;
        if (_usesLoaded)
        {
            await LoadUsesAsync(db, _usesPrint.Largest, ct);
            if (print == _usesPrint)
                return;
        }
        // First load, or rows deleted / added to older runs: read them all again.
        foreach (var u in _uses.Values)
            u.Items = [];
        _usesPrint = new UsesPrint(0, 0, 0);
        await LoadUsesAsync(db, 0, ct);
        _usesLoaded = true;
        if (_usesPrint != print) // changed while reading: the next search reads it again
            LogUsesMoved();
    }

    private static Task<UsesPrint> ReadUsesPrintAsync(HubDbContext db, CancellationToken ct) =>
        db.Database.SqlQuery<UsesPrint>($"""
            SELECT COUNT(*) AS "Count", COALESCE(MAX("RunId"), 0) AS "Largest", CAST(COALESCE(SUM("RunId"), 0) AS bigint) AS "Sum" FROM "RunImages"
            """).SingleAsync(ct);

    private async Task LoadUsesAsync(HubDbContext db, long afterRunId, CancellationToken ct)
    {
        var rows =
            from ri in db.RunImages.AsNoTracking()
            join r in db.Runs on ri.RunId equals r.Id
            where ri.RunId > afterRunId
            select new { ri.ImageSha256, ri.RunId, r.OwnerId, r.Kind, r.Model, r.Created };
        var added = new Dictionary<string, List<ImageUse>>(StringComparer.Ordinal);
        var print = _usesPrint;
        await foreach (var row in rows.AsAsyncEnumerable().WithCancellation(ct))
        {
            if (!added.TryGetValue(row.ImageSha256, out var list))
                added[row.ImageSha256] = list = [];
            list.Add(new ImageUse(row.RunId, string.Intern(row.OwnerId), row.Kind, string.Intern(row.Model), row.Created.ToUnixTimeMilliseconds()));
            print = new UsesPrint(print.Count + 1, Math.Max(print.Largest, row.RunId), print.Sum + row.RunId);
        }
        foreach (var (sha, list) in added)
        {
            var uses = UsesOf(sha);
            uses.Items = [.. uses.Items, .. list];
        }
        _usesPrint = print;
    }

    private ImageUses UsesOf(string sha)
    {
        lock (_uses)
        {
            if (!_uses.TryGetValue(sha, out var uses))
                _uses[sha] = uses = new ImageUses();
            return uses;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Vector index {Model} ({Dimensions}-d): {Count} vectors, {How} in {Ms:F0} ms")]
    private partial void LogLoadedCore(string model, int dimensions, int count, string how, double ms);

    private void LogLoaded(string model, int dimensions, int count, bool full, double ms) =>
        LogLoadedCore(model, dimensions, count, full ? "loaded" : "caught up", ms);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Run images changed while the vector index read them; the next search reads them again")]
    private partial void LogUsesMoved();

    private sealed class ModelVectors(VectorIndex<string, ImageUses> index)
    {
        public VectorIndex<string, ImageUses> Index { get; } = index;
        /// <summary>The newest Created (unix ms) read: later rows, and rows replaced since, have Created at or after it.</summary>
        public long Newest { get; set; } = long.MinValue;
    }

    private sealed record VectorsPrint(long Count, long Newest);

    private sealed record UsesPrint(long Count, long Largest, long Sum);
}

/// <summary>One run that uses an image: what the filters compare.</summary>
internal readonly record struct ImageUse(long RunId, string OwnerId, RunKind Kind, string Model, long CreatedMs);

/// <summary>The runs that use one image (replaced whole, so a search reads a consistent array without a lock).</summary>
internal sealed class ImageUses
{
    private volatile ImageUse[] _items = [];

    public ImageUse[] Items { get => _items; set => _items = value; }

    /// <summary>True when one run using the image matches every criterion of the filter.</summary>
    public bool Matches(string? ownerId, RunKind? kind, string? model, long fromMs, long toMs)
    {
        foreach (var u in _items)
            if ((ownerId is null || string.Equals(u.OwnerId, ownerId, StringComparison.Ordinal))
                && (kind is null || u.Kind == kind)
                && (model is null || string.Equals(u.Model, model, StringComparison.Ordinal))
                && u.CreatedMs >= fromMs && u.CreatedMs < toMs)
                return true;
        return false;
    }
}
