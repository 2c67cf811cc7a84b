using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>
/// Keeps the KV caches of recent conversations (bounded, least recently used out), keyed by the conversation's
/// images and the ids the cache covers. A follow-up whose prompt starts with a kept conversation reuses its cache and
/// feeds only its own new tokens; a shorter common prefix (regenerate, edited turn) reuses the cache truncated to it.
/// (A cache kept in GPU memory through IO binding is reused only whole.) An entry is taken out while a request uses it, so no cache is shared between running requests.
/// </summary>
public sealed class ConversationCache(int capacity) : IDisposable
{
    private readonly LinkedList<Entry> _entries = new();
    private readonly Lock _lock = new();

    private sealed record Entry(string ImagesKey, int[] Ids, KvCache Cache);

    public int Count { get { lock (_lock) return _entries.Count; } }

    /// <summary>The longest reusable prefix of ids (at least one id is always left to feed), or null.</summary>
    public KvCache? Take(string imagesKey, IReadOnlyList<int> ids)
    {
        Entry? best = null;
        var bestLen = 0;
        lock (_lock)
        {
            foreach (var e in _entries)
            {
                if (e.ImagesKey != imagesKey) continue;
                var n = CommonPrefix(e.Ids, ids);
                if (n > bestLen) { best = e; bestLen = n; }
            }
            if (best is null) return null;
            _entries.Remove(best);
        }
        var usable = Math.Min(bestLen, ids.Count - 1);
        if (usable < 1) { best.Cache.Dispose(); return null; }
        if (usable == best.Cache.Length) return best.Cache;
        if (!best.Cache.OnHost) { best.Cache.Dispose(); return null; } // a cache in device memory is not cut here: the prompt is fed whole
        using (best.Cache) return best.Cache.Truncate(usable);
    }

    /// <summary>Keep a conversation's cache (covering ids); takes ownership.</summary>
    public void Put(string imagesKey, int[] ids, KvCache cache)
    {
        if (cache.Length != ids.Length) throw new ArgumentException("the cache must cover exactly the ids", nameof(ids));
        List<Entry> evicted = [];
        lock (_lock)
        {
            _entries.AddFirst(new Entry(imagesKey, ids, cache));
            while (_entries.Count > capacity) { evicted.Add(_entries.Last!.Value); _entries.RemoveLast(); }
        }
        foreach (var e in evicted) e.Cache.Dispose();
    }

    private static int CommonPrefix(int[] a, IReadOnlyList<int> b)
    {
        var n = Math.Min(a.Length, b.Count);
        var i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var e in _entries) e.Cache.Dispose();
            _entries.Clear();
        }
    }
}
