using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.EntityFrameworkCore;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Services;

/// <summary>Vectors are float32 bytes in SQLite; nearest-neighbour search is an exact cosine scan over one model's
/// vectors (fine for a personal gallery of tens of thousands of images; no ANN index).</summary>
internal sealed class EmbeddingStore(IDbContextFactory<HubDbContext> dbs, TimeProvider time) : IEmbeddingStore
{
    public async Task UpsertAsync(string imageSha256, string modelId, ReadOnlyMemory<float> vector, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        if (vector.Length == 0)
            throw new ArgumentException("Embedding is empty.", nameof(vector));
        foreach (var x in vector.Span)
            if (!float.IsFinite(x))
                throw new ArgumentException("Embedding contains NaN or infinity.", nameof(vector));
        var bytes = MemoryMarshal.AsBytes(vector.Span).ToArray();
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
        k = Math.Clamp(k, 1, 1000);
        var q = query.ToArray();
        var qNorm = Norm(q);
        if (qNorm == 0 || !float.IsFinite(qNorm))
            return [];
        var top = new PriorityQueue<NearestImage, float>(k + 1);
        await using var db = await dbs.CreateDbContextAsync(ct);
        await foreach (var e in db.Embeddings.AsNoTracking()
                           .Where(e => e.ModelId == modelId && e.Dimensions == q.Length)
                           .Select(e => new { e.ImageSha256, e.Vector })
                           .AsAsyncEnumerable().WithCancellation(ct))
        {
            var v = MemoryMarshal.Cast<byte, float>(e.Vector);
            var norm = Norm(v);
            if (norm == 0)
                continue;
            var score = Dot(q, v) / (qNorm * norm);
            top.Enqueue(new NearestImage(e.ImageSha256, score), score);
            if (top.Count > k)
                top.Dequeue();
        }
        var result = new List<NearestImage>(top.Count);
        while (top.TryDequeue(out var item, out _))
            result.Add(item);
        result.Reverse();
        return result;
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

    private static float Norm(ReadOnlySpan<float> v) => MathF.Sqrt(Dot(v, v));

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = 0f;
        var i = 0;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            var va = MemoryMarshal.Cast<float, Vector<float>>(a);
            var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
            for (var j = 0; j < va.Length; j++)
                acc += va[j] * vb[j];
            sum = Vector.Sum(acc);
            i = va.Length * Vector<float>.Count;
        }
        for (; i < a.Length; i++)
            sum += a[i] * b[i];
        return sum;
    }
}
