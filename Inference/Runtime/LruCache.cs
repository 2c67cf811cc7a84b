using System.Diagnostics.CodeAnalysis;

namespace MultimodalHub.Inference.Runtime;

/// <summary>A bounded least-recently-used cache of float vectors keyed by an exact (ordinal) string (VLM image features by image hash).</summary>
public sealed class LruCache(int capacity) : LruCache<float[]>(capacity);

/// <summary>
/// A bounded least-recently-used cache of values keyed by an exact (ordinal) string, safe to share between
/// requests (CLIP text embeddings with their token counts by prompt, VLM image features by image hash).
/// A capacity of 0 or less caches nothing.
/// </summary>
public class LruCache<TValue>(int capacity)
{
    private readonly Dictionary<string, LinkedListNode<(string Key, TValue Value)>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, TValue Value)> _order = new();
    private readonly Lock _lock = new();

    public int Count { get { lock (_lock) return _map.Count; } }

    /// <summary>The cached value, which becomes the most recently used.</summary>
    public bool TryGet(string key, [MaybeNullWhen(false)] out TValue value)
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
        value = default;
        return false;
    }

    /// <summary>Cache (or replace) the value as the most recently used, evicting the least recently used past capacity.</summary>
    public void Add(string key, TValue value)
    {
        if (capacity <= 0) return;
        lock (_lock) AddLocked(key, value);
    }

    /// <summary>
    /// The cached value, else compute's (run outside the lock) cached and returned; when another caller cached the key
    /// meanwhile, its value stays and this call's is returned.
    /// </summary>
    public TValue GetOrAdd(string key, Func<TValue> compute)
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

    private void AddLocked(string key, TValue value)
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
