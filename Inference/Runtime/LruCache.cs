namespace MultimodalHub.Inference.Runtime;

/// <summary>
/// A bounded least-recently-used cache of float vectors keyed by an exact (ordinal) string, safe to share between
/// requests (CLIP text embeddings by prompt, VLM image features by image hash). A capacity of 0 or less caches nothing.
/// </summary>
public sealed class LruCache(int capacity)
{
    private readonly Dictionary<string, LinkedListNode<(string Key, float[] Value)>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, float[] Value)> _order = new();
    private readonly Lock _lock = new();

    public int Count { get { lock (_lock) return _map.Count; } }

    /// <summary>The cached value, which becomes the most recently used.</summary>
    public bool TryGet(string key, out float[] value)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                value = node.Value.Value;
                return true;
            }
        }
        value = [];
        return false;
    }

    /// <summary>Cache (or replace) the value as the most recently used, evicting the least recently used past capacity.</summary>
    public void Add(string key, float[] value)
    {
        if (capacity <= 0) return;
        lock (_lock) AddLocked(key, value);
    }

    /// <summary>
    /// The cached value, else compute's (run outside the lock) cached and returned; when another caller cached the key
    /// meanwhile, its value stays and this call's is returned.
    /// </summary>
    public float[] GetOrAdd(string key, Func<float[]> compute)
    {
        if (TryGet(key, out var cached)) return cached;
        var value = compute();
        if (capacity <= 0) return value;
        lock (_lock)
        {
            if (!_map.ContainsKey(key)) AddLocked(key, value);
        }
        return value;
    }

    private void AddLocked(string key, float[] value)
    {
        if (_map.TryGetValue(key, out var existing)) _order.Remove(existing);
        _map[key] = _order.AddFirst((key, value));
        while (_map.Count > capacity)
        {
            var last = _order.Last!;
            _order.RemoveLast();
            _map.Remove(last.Value.Key);
        }
    }
}
