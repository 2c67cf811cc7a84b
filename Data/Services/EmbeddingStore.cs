using System.Runtime.InteropServices;
using Microsoft.EntityFrameworkCore;
using MultimodalHub.Data.Search;

namespace MultimodalHub.Data.Services;

/// <summary>Vectors are float32 bytes in the database; nearest-neighbour search runs on the in-memory
/// <see cref="ImageVectorIndex"/> (exact cosine over all vectors that pass the filter, SIMD, parallel).</summary>
internal sealed class EmbeddingStore(IDbContextFactory<HubDbContext> dbs, TimeProvider time, ImageVectorIndex index) : IEmbeddingStore
{
    public async Task UpsertAsync(string imageSha256, string modelId, ReadOnlyMemory<float> vector, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        var bytes = CosineScan.ToBytes(vector);
        var created = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var db = await dbs.CreateDbContextAsync(ct);
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            INSERT INTO "Embeddings" ("ImageSha256", "ModelId", "Dimensions", "Vector", "Created")
            VALUES ({imageSha256}, {modelId}, {vector.Length}, {bytes}, {created})
            ON CONFLICT ("ImageSha256", "ModelId") DO UPDATE SET "Dimensions" = excluded."Dimensions", "Vector" = excluded."Vector", "Created" = excluded."Created"
            """, ct);
        index.Stored(imageSha256, modelId, vector.Span);
    }

    public async Task<float[]?> GetAsync(string imageSha256, string modelId, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var bytes = await db.Embeddings.Where(e => e.ImageSha256 == imageSha256 && e.ModelId == modelId)
            .Select(e => e.Vector).SingleOrDefaultAsync(ct);
        return bytes is null ? null : MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    public Task<IReadOnlyList<NearestImage>> NearestAsync(string modelId, ReadOnlyMemory<float> query, int k = 20, CancellationToken ct = default) =>
        NearestAsync(modelId, query, ImageVectorFilter.None, k, ct);

    public Task<IReadOnlyList<NearestImage>> NearestAsync(string modelId, ReadOnlyMemory<float> query, ImageVectorFilter filter, int k = 20, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return index.SearchAsync(modelId, query, k, filter, ct);
    }

    public async Task<IReadOnlyList<string>> MissingAsync(string modelId, int limit = 100, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.Images
            .Where(i => !db.Embeddings.Any(e => e.ImageSha256 == i.Sha256 && e.ModelId == modelId))
            .OrderBy(i => i.Created).Select(i => i.Sha256)
            .Take(Math.Clamp(limit, 1, 10_000))
            .ToListAsync(ct);
    }
}
