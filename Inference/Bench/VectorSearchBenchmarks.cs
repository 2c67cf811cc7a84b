using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using MultimodalHub.Data.Search;

namespace MultimodalHub.Bench;

/// <summary>
/// Semantic search over N random 512-d vectors (CLIP ViT-B/32's size), top 20: the index (<see cref="VectorIndex{TKey, TMeta}"/>,
/// blocks scanned in parallel over the cores) at float32, float16 and int8 against the bare scan it replaces
/// (one contiguous float[] of N×512, TensorPrimitives.Dot per row, a top-k heap, one thread: the baseline of the ratio),
/// and the int8 index with a filter that lets half the rows through. Each case builds only its own data (1M float32 is 2 GB).
/// Run: dotnet run -c Release --project Inference/Bench -- --filter '*VectorSearch*'
/// </summary>
[Config(typeof(InProcessConfig))]
public class VectorSearchBenchmarks : IDisposable
{
    /// <summary>In process (no generated project to build: that alone outlasts BenchmarkDotNet's 2-minute limit on a busy
    /// machine), one launch, 2 warm-up and 8 measured iterations.</summary>
    private sealed class InProcessConfig : ManualConfig
    {
        public InProcessConfig() => AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(8));
    }

    private const int Dimensions = 512;
    private const int K = 20;

    private float[] _flat = [];
    private VectorIndex<int, bool>? _index;
    private float[] _query = [];

    [Params(10_000, 100_000, 1_000_000)]
    public int N { get; set; }

    [GlobalSetup(Target = nameof(BareScan))]
    public void SetupBare()
    {
        var random = new Random(1);
        _flat = new float[(long)N * Dimensions is var n && n <= Array.MaxLength ? (int)n : throw new InvalidOperationException()];
        for (var i = 0; i < N; i++)
        {
            var row = _flat.AsSpan(i * Dimensions, Dimensions);
            Fill(random, row);
            TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
        }
        _query = Query();
    }

    [GlobalSetup(Target = nameof(Float32))]
    public void SetupFloat32() => Build(VectorPrecision.Float32);

    [GlobalSetup(Target = nameof(Float16))]
    public void SetupFloat16() => Build(VectorPrecision.Float16);

    [GlobalSetup(Targets = [nameof(Int8), nameof(Int8HalfFiltered)])]
    public void SetupInt8() => Build(VectorPrecision.Int8);

    [Benchmark(Baseline = true, Description = "bare TensorPrimitives scan, 1 thread")]
    public int BareScan()
    {
        var top = new PriorityQueue<int, float>(K + 1);
        for (var i = 0; i < N; i++)
        {
            var score = TensorPrimitives.Dot(_query, new ReadOnlySpan<float>(_flat, i * Dimensions, Dimensions));
            if (top.Count < K)
                top.Enqueue(i, score);
            else if (top.TryPeek(out _, out var worst) && score > worst)
                top.DequeueEnqueue(i, score);
        }
        return top.Peek();
    }

    [Benchmark(Description = "index float32")]
    public int Float32() => _index!.Search(_query, K)[0].Key;

    [Benchmark(Description = "index float16")]
    public int Float16() => _index!.Search(_query, K)[0].Key;

    [Benchmark(Description = "index int8")]
    public int Int8() => _index!.Search(_query, K)[0].Key;

    [Benchmark(Description = "index int8, filter passes half")]
    public int Int8HalfFiltered() => _index!.Search(_query, K, even => even)[0].Key;

    public void Dispose()
    {
        _index?.Dispose();
        GC.SuppressFinalize(this);
    }

    private void Build(VectorPrecision precision)
    {
        var random = new Random(1);
        _index = new VectorIndex<int, bool>(Dimensions, precision);
        var row = new float[Dimensions];
        for (var i = 0; i < N; i++)
        {
            Fill(random, row);
            _index.Upsert(i, row, i % 2 == 0);
        }
        _query = Query();
    }

    private static float[] Query()
    {
        var q = new float[Dimensions];
        Fill(new Random(2), q);
        return q;
    }

    private static void Fill(Random random, Span<float> row)
    {
        for (var j = 0; j < row.Length; j++)
            row[j] = random.NextSingle() * 2 - 1;
    }
}
