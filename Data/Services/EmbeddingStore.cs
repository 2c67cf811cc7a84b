using System.Runtime.InteropServices;
using Microsoft.EntityFrameworkCore;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Services;

/// <summary>Vectors are float32 bytes in SQLite; nearest-neighbour search is an exact cosine scan over one model's
/// vectors (<see cref="CosineScan"/>; fine for a personal gallery of tens of thousands of images; no ANN index).</summary>
internal sealed class EmbeddingStore(IDbContextFactory<HubDbContext> dbs, TimeProvider time) : IEmbeddingStore
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
    }

    public async Task<float[]?> GetAsync(string imageSha256, string modelId, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var bytes = await db.Embeddings.Where(e => e.ImageSha256 == imageSha256 && e.ModelId == modelId)
            .Select(e => e.Vector).SingleOrDefaultAsync(ct);
        return bytes is null ? null : MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    public async Task<IReadOnlyList<NearestImage>> NearestAsync(string modelId, ReadOnlyMemory<float> query, int k = 20, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var rows = db.Embeddings.AsNoTracking()
            .Where(e => e.ModelId == modelId && e.Dimensions == query.Length)
            .Select(e => new { e.ImageSha256, e.Vector })
            .AsAsyncEnumerable();
        var top = await CosineScan.TopAsync(rows, e => e.Vector, query, k, ct);
        return top.Select(t => new NearestImage(t.Item.ImageSha256, t.Score)).ToList();
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
