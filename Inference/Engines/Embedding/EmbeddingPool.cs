using System.Numerics.Tensors;

namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>Token vectors → sentence vectors (sentence-transformers' Pooling and Normalize modules), and Matryoshka cuts.</summary>
public static class EmbeddingPool
{
    /// <summary>
    /// Pool a row-major [n, length, hidden] output over the tokens the attention mask marks (right-padded batches);
    /// several modes are concatenated in the order given.
    /// </summary>
    public static float[][] Pool(ReadOnlySpan<float> tokens, ReadOnlySpan<long> mask, int n, int length, int hidden, IReadOnlyList<PoolingMode> modes)
    {
        if (tokens.Length != n * length * hidden) throw new ArgumentException($"Expected {n}x{length}x{hidden} token values, got {tokens.Length}.", nameof(tokens));
        if (mask.Length != n * length) throw new ArgumentException($"Expected {n}x{length} mask values, got {mask.Length}.", nameof(mask));
        var result = new float[n][];
        for (var s = 0; s < n; s++)
        {
            var rows = tokens.Slice(s * length * hidden, length * hidden);
            var m = mask.Slice(s * length, length);
            var vector = new float[hidden * modes.Count];
            for (var k = 0; k < modes.Count; k++) PoolOne(rows, m, hidden, modes[k], vector.AsSpan(k * hidden, hidden));
            result[s] = vector;
        }
        return result;
    }

    private static void PoolOne(ReadOnlySpan<float> rows, ReadOnlySpan<long> mask, int hidden, PoolingMode mode, Span<float> into)
    {
        var count = 0;
        var last = 0;
        for (var t = 0; t < mask.Length; t++)
        {
            if (mask[t] == 0) continue;
            count++;
            last = t;
        }
        switch (mode)
        {
            case PoolingMode.Cls:
                rows[..hidden].CopyTo(into);
                return;
            case PoolingMode.LastToken:
                rows.Slice(last * hidden, hidden).CopyTo(into);
                return;
            case PoolingMode.Max:
                into.Fill(float.NegativeInfinity);
                for (var t = 0; t < mask.Length; t++)
                    if (mask[t] != 0) TensorPrimitives.Max(into, rows.Slice(t * hidden, hidden), into);
                if (count == 0) into.Clear();
                return;
            case PoolingMode.Mean:
            case PoolingMode.MeanSqrtLen:
                into.Clear();
                for (var t = 0; t < mask.Length; t++)
                    if (mask[t] != 0) TensorPrimitives.Add(into, rows.Slice(t * hidden, hidden), into);
                var divisor = mode == PoolingMode.Mean ? Math.Max(count, 1e-9f) : MathF.Sqrt(Math.Max(count, 1e-9f));
                TensorPrimitives.Divide(into, divisor, into);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, null);
        }
    }

    /// <summary>The vector divided by its L2 norm (at least 1e-12, as torch.nn.functional.normalize), in place; returns it.</summary>
    public static float[] Normalize(float[] vector)
    {
        var norm = Math.Max(TensorPrimitives.Norm(vector), 1e-12f);
        TensorPrimitives.Divide(vector, norm, vector);
        return vector;
    }

    /// <summary>The first <paramref name="dimensions"/> values, L2-normalised again (Matryoshka truncation).</summary>
    public static float[] Truncate(float[] vector, int dimensions) =>
        dimensions >= vector.Length ? vector : Normalize(vector[..dimensions]);
}
