using Microsoft.ML.OnnxRuntime;

namespace MultimodalHub.Inference.Runtime.Generation;

/// <summary>
/// The decoder's key/value cache: one OrtValue per past_key_values.* input (in <see cref="DecoderSpec.PastNames"/>
/// order), each [batch, kv_heads, length, head_dim] of the session's cache type (float32 or float16). Owns its values. Attention mask and positions live with it, so a
/// conversation's cache can be kept and extended later.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly OrtValue[] _values;
    private readonly IDisposable? _owner;

    private KvCache(OrtValue[] values, int batch, int length, IDisposable? owner = null)
    {
        _values = values;
        _owner = owner;
        Batch = batch;
        Length = length;
    }

    public int Batch { get; }

    /// <summary>Cached positions (past_sequence_length).</summary>
    public int Length { get; }

    public IReadOnlyList<OrtValue> Values => _values;

    /// <summary>Whether every value is in CPU memory (always, unless a GPU session's IO binding kept it on the device): only then can it be cut or reordered.</summary>
    public bool OnHost => _values.All(v => v.GetTensorMemoryInfo().GetDeviceType() == OrtMemoryInfoDeviceType.CPU);

    /// <summary>Zero-length past for the prefill step: [batch, kv_heads, 0, head_dim].</summary>
    public static KvCache Empty(DecoderSpec spec, int batch)
    {
        var values = new OrtValue[spec.PastNames.Count];
        for (var i = 0; i < values.Length; i++)
            values[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, spec.CacheType, [batch, spec.NumKvHeads, 0, spec.HeadDim]);
        return new KvCache(values, batch, 0);
    }

    /// <summary>
    /// Take ownership of a step's output collection whose present.* values are <paramref name="presents"/>: no copy; the
    /// collection (and so every value in it) is disposed with the cache.
    /// </summary>
    public static KvCache Adopt(IDisposable outputs, OrtValue[] presents, int batch, int length) => new(presents, batch, length, outputs);

    /// <summary>A new cache whose row r is this cache's row rows[r] (beam search reordering, batch expansion).</summary>
    public KvCache Gather(IReadOnlyList<int> rows)
    {
        RequireHost();
        var values = new OrtValue[_values.Length];
        try
        {
            for (var i = 0; i < _values.Length; i++)
            {
                var shape = _values[i].GetTensorTypeAndShape().Shape;
                var rowSize = checked((int)(shape[1] * shape[2] * shape[3]));
                values[i] = Tensors.Rearranged(_values[i], [rows.Count, shape[1], shape[2], shape[3]], (src, dst, size) =>
                {
                    var bytes = rowSize * size;
                    for (var r = 0; r < rows.Count; r++) src.Slice(rows[r] * bytes, bytes).CopyTo(dst[(r * bytes)..]);
                });
            }
        }
        catch
        {
            foreach (var v in values) v?.Dispose();
            throw;
        }
        return new KvCache(values, rows.Count, Length);
    }

    /// <summary>A new cache holding only the first <paramref name="length"/> positions (a shorter shared prefix).</summary>
    public KvCache Truncate(int length)
    {
        if (length > Length || length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        RequireHost();
        var values = new OrtValue[_values.Length];
        try
        {
            for (var i = 0; i < _values.Length; i++)
            {
                var shape = _values[i].GetTensorTypeAndShape().Shape;
                var (rows, seq, dim) = (checked((int)(shape[0] * shape[1])), (int)shape[2], (int)shape[3]);
                values[i] = Tensors.Rearranged(_values[i], [shape[0], shape[1], length, dim], (src, dst, size) =>
                {
                    for (var r = 0; r < rows; r++) src.Slice(r * seq * dim * size, length * dim * size).CopyTo(dst[(r * length * dim * size)..]);
                });
            }
        }
        catch
        {
            foreach (var v in values) v?.Dispose();
            throw;
        }
        return new KvCache(values, Batch, length);
    }

    private void RequireHost()
    {
        if (!OnHost)
            throw new NotSupportedException("This KV cache is in device memory; loops that cut or reorder it use DecoderRunner.HostCache.");
    }

    public void Dispose()
    {
        if (_owner is not null) _owner.Dispose(); // the output collection disposes its values (OrtValue.Dispose is idempotent)
        else foreach (var v in _values) v.Dispose();
    }
}
