using System.Numerics;

namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>Top-k selection shared by the top-k warper and beam search.</summary>
internal static class Ranking
{
    /// <summary>
    /// The k largest values' indices, best first, skipping -∞ and NaN; among equal values the lower index ranks higher.
    /// A bounded min-heap, O(V log k) instead of sorting the vocabulary.
    /// </summary>
    public static IReadOnlyList<int> Top<T>(ReadOnlySpan<T> values, int k) where T : IFloatingPointIeee754<T>
    {
        var heap = new PriorityQueue<int, (T Value, int Index)>(k + 1, TopOrder<T>.Instance);
        for (var i = 0; i < values.Length; i++)
        {
            if (T.IsNegativeInfinity(values[i]) || T.IsNaN(values[i])) continue;
            if (heap.Count < k) heap.Enqueue(i, (values[i], i));
            else if (TopOrder<T>.Instance.Compare((values[i], i), PeekPriority(heap)) > 0) heap.EnqueueDequeue(i, (values[i], i));
        }
        var result = new int[heap.Count];
        for (var j = result.Length - 1; j >= 0; j--) result[j] = heap.Dequeue();
        return result;
    }

    private static (T Value, int Index) PeekPriority<T>(PriorityQueue<int, (T Value, int Index)> heap) =>
        heap.TryPeek(out _, out var priority) ? priority : default;

    /// <summary>Higher value ranks higher; among equal values the lower index ranks higher (a stable order).</summary>
    private sealed class TopOrder<T> : IComparer<(T Value, int Index)> where T : IFloatingPointIeee754<T>
    {
        public static readonly TopOrder<T> Instance = new();
        public int Compare((T Value, int Index) a, (T Value, int Index) b) =>
            a.Value != b.Value ? a.Value.CompareTo(b.Value) : b.Index.CompareTo(a.Index);
    }
}
