using System.Numerics.Tensors;
using MultimodalHub.Data.Search;

namespace MultimodalHub.Tests.Data;

/// <summary>The in-memory vector index against a brute-force cosine reference (TensorPrimitives.CosineSimilarity over every vector).</summary>
public sealed class VectorIndexTests
{
    private const int Dimensions = 512;

    [Fact]
    public void Float32_top_k_equals_the_brute_force_reference()
    {
        var data = Clustered(6000, seed: 1);
        using var index = Build(data, VectorPrecision.Float32);
        Assert.Equal(6000, index.Count);
        foreach (var query in Queries(data, 12, seed: 2))
        {
            var expected = Reference(data, query, 10);
            var hits = index.Search(query, 10);
            Assert.Equal(expected.Select(e => e.Key), hits.Select(h => h.Key));
            for (var i = 0; i < hits.Count; i++)
                Assert.Equal(expected[i].Score, hits[i].Score, 4);
        }
    }

    [Fact]
    public void Results_are_the_same_single_threaded_and_over_all_cores()
    {
        var data = Clustered(3 * VectorIndex<int, int>.BlockSize + 17, seed: 3);
        using var index = Build(data, VectorPrecision.Float32);
        var query = Queries(data, 1, seed: 4)[0];
        Assert.Equal(index.Search(query, 25, maxParallelism: 1).Select(h => h.Key), index.Search(query, 25).Select(h => h.Key));
    }

    [Theory]
    [InlineData(VectorPrecision.Float16, 0.99)]
    [InlineData(VectorPrecision.Int8, 0.9)]
    public void Reduced_precision_keeps_recall_at_10(VectorPrecision precision, double minimum)
    {
        var data = Clustered(5000, seed: 5);
        using var index = Build(data, precision);
        var queries = Queries(data, 40, seed: 6);
        var found = 0;
        foreach (var query in queries)
        {
            var expected = Reference(data, query, 10).Select(e => e.Key).ToHashSet();
            var hits = index.Search(query, 10);
            found += hits.Count(h => expected.Contains(h.Key));
            // Scores stay close to the exact cosine similarity.
            foreach (var h in hits)
                Assert.InRange(MathF.Abs(TensorPrimitives.CosineSimilarity(query, data[h.Key]) - h.Score), 0, precision == VectorPrecision.Int8 ? 0.02f : 0.002f);
        }
        var recall = found / (10.0 * queries.Count);
        Assert.True(recall >= minimum, $"recall@10 of {precision} is {recall:F3}, below {minimum}");
    }

    [Fact]
    public void Filter_is_applied_before_ranking()
    {
        var data = Clustered(5000, seed: 7);
        using var index = Build(data, VectorPrecision.Float32);
        var query = Queries(data, 1, seed: 8)[0];
        // Only keys divisible by 7 pass: k of them come back, the best of those, not the best overall minus the others.
        var hits = index.Search(query, 20, meta => meta % 7 == 0);
        var expected = Reference(data.Where(d => d.Key % 7 == 0).ToDictionary(), query, 20);
        Assert.Equal(20, hits.Count);
        Assert.Equal(expected.Select(e => e.Key), hits.Select(h => h.Key));
        Assert.Empty(index.Search(query, 5, _ => false));
    }

    [Fact]
    public void Removes_and_replacements_stay_in_step_with_the_reference()
    {
        var data = Clustered(9000, seed: 9);
        using var index = Build(data, VectorPrecision.Float32);
        var random = new Random(10);
        foreach (var key in data.Keys.Where(_ => random.NextDouble() < 0.4).ToList())
        {
            Assert.True(index.Remove(key));
            data.Remove(key);
        }
        Assert.False(index.Remove(-1));
        foreach (var key in data.Keys.Take(300).ToList())
        {
            data[key] = RandomVector(random);
            index.Upsert(key, data[key], key);
        }
        Assert.Equal(data.Count, index.Count);
        foreach (var query in Queries(data, 8, seed: 11))
            Assert.Equal(Reference(data, query, 15).Select(e => e.Key), index.Search(query, 15).Select(h => h.Key));
    }

    [Fact]
    public void Bad_vectors_are_refused_and_bad_queries_find_nothing()
    {
        using var index = new VectorIndex<int, int>(4);
        Assert.Throws<ArgumentException>(() => index.Upsert(1, new float[3], 0));
        Assert.Throws<ArgumentException>(() => index.Upsert(1, new float[4], 0));
        Assert.Throws<ArgumentException>(() => index.Upsert(1, [1, float.NaN, 0, 0], 0));
        index.Upsert(1, [1, 0, 0, 0], 0);
        Assert.Empty(index.Search(new float[4], 3));
        Assert.Empty(index.Search(new float[5], 3));
        Assert.Equal(1f, Assert.Single(index.Search([3, 0, 0, 0], 3)).Score, 5);
    }

    [Fact]
    public void Int8_dot_product_matches_the_scalar_sum()
    {
        var random = new Random(12);
        foreach (var n in new[] { 1, 15, 16, 31, 32, 33, 512, 777 })
        {
            var a = new sbyte[n];
            var b = new sbyte[n];
            for (var i = 0; i < n; i++)
            {
                a[i] = (sbyte)random.Next(-127, 128);
                b[i] = (sbyte)random.Next(-127, 128);
            }
            Assert.Equal(a.Zip(b).Sum(p => p.First * p.Second), Int8.Dot(a, b));
        }
    }

    private static VectorIndex<int, int> Build(Dictionary<int, float[]> data, VectorPrecision precision)
    {
        var index = new VectorIndex<int, int>(Dimensions, precision);
        foreach (var (key, vector) in data)
            index.Upsert(key, vector, key);
        return index;
    }

    /// <summary>Vectors around 50 random centres (as image embeddings cluster by content), so neighbours are meaningful.</summary>
    internal static Dictionary<int, float[]> Clustered(int count, int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 50).Select(_ => RandomVector(random)).ToArray();
        var data = new Dictionary<int, float[]>(count);
        for (var i = 0; i < count; i++)
        {
            var v = RandomVector(random);
            TensorPrimitives.MultiplyAdd(centres[random.Next(centres.Length)], 2.5f, v, v);
            data[i] = v;
        }
        return data;
    }

    private static List<float[]> Queries(Dictionary<int, float[]> data, int count, int seed)
    {
        var random = new Random(seed);
        var keys = data.Keys.ToArray();
        var queries = new List<float[]>();
        for (var i = 0; i < count; i++)
        {
            var q = RandomVector(random);
            TensorPrimitives.MultiplyAdd(data[keys[random.Next(keys.Length)]], 1.5f, q, q);
            queries.Add(q);
        }
        return queries;
    }

    private static float[] RandomVector(Random random)
    {
        var v = new float[Dimensions];
        for (var i = 0; i < v.Length; i++)
            v[i] = (float)(random.NextDouble() * 2 - 1);
        return v;
    }

    private static List<(int Key, float Score)> Reference(Dictionary<int, float[]> data, float[] query, int k) =>
        data.Select(d => (d.Key, Score: TensorPrimitives.CosineSimilarity(query, d.Value)))
            .OrderByDescending(d => d.Score).ThenBy(d => d.Key).Take(k).ToList();
}
