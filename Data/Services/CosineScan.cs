using System.Numerics;
using System.Runtime.InteropServices;

namespace MultimodalHub.Data.Services;

/// <summary>
/// The exact nearest-neighbour search both vector stores use: every stored vector of a model is read and scored by
/// cosine similarity to the query; the best k are kept in a heap. Fine for a personal gallery (tens of thousands of
/// vectors scan in milliseconds); an index would replace this one method.
/// </summary>
internal static class CosineScan
{
    /// <summary>The k rows most similar to the query, best first (rows whose vector is all zeros are skipped; a zero query finds nothing).</summary>
    public static async Task<List<(T Item, float Score)>> TopAsync<T>(IAsyncEnumerable<T> rows, Func<T, byte[]> vector, ReadOnlyMemory<float> query, int k, CancellationToken ct)
    {
        k = Math.Clamp(k, 1, 1000);
        var q = query.ToArray();
        var qNorm = Norm(q);
        if (qNorm == 0 || !float.IsFinite(qNorm))
            return [];
        var top = new PriorityQueue<(T Item, float Score), float>(k + 1);
        await foreach (var row in rows.WithCancellation(ct))
        {
            var v = MemoryMarshal.Cast<byte, float>(vector(row));
            if (v.Length != q.Length)
                continue;
            var norm = Norm(v);
            if (norm == 0)
                continue;
            var score = Dot(q, v) / (qNorm * norm);
            top.Enqueue((row, score), score);
            if (top.Count > k)
                top.Dequeue();
        }
        var result = new List<(T, float)>(top.Count);
        while (top.TryDequeue(out var item, out _))
            result.Add(item);
        result.Reverse();
        return result;
    }

    /// <summary>A vector as the stores keep it: little-endian float32 bytes. Throws for an empty vector or one with NaN or infinity.</summary>
    public static byte[] ToBytes(ReadOnlyMemory<float> vector)
    {
        if (vector.Length == 0)
            throw new ArgumentException("Embedding is empty.", nameof(vector));
        foreach (var x in vector.Span)
            if (!float.IsFinite(x))
                throw new ArgumentException("Embedding contains NaN or infinity.", nameof(vector));
        return MemoryMarshal.AsBytes(vector.Span).ToArray();
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
