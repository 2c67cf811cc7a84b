using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>
/// The encoder graph (onnx/model.onnx of a BERT-family export) run on right-padded batches. Inputs are fed by the names
/// the session declares: input_ids, attention_mask and token_type_ids (zeros) when present. The token vectors come from
/// last_hidden_state / token_embeddings (else the first rank-3 output) and are pooled; an export that already pools
/// (a rank-2 sentence_embedding output and no rank-3 one) is taken as it is.
/// </summary>
public sealed class EmbeddingEncoder : IDisposable
{
    private static readonly string[] TokenOutputs = ["last_hidden_state", "token_embeddings"];
    private static readonly string[] PooledOutputs = ["sentence_embedding", "pooler_output"];

    private readonly InferenceSession _session;
    private readonly string _idsInput;
    private readonly string? _maskInput;
    private readonly string? _typesInput;
    private readonly string _output;
    private readonly bool _pooledByModel;

    public EmbeddingEncoder(InferenceSession session)
    {
        _session = session;
        var inputs = session.InputMetadata;
        _idsInput = inputs.ContainsKey("input_ids") ? "input_ids" : session.InputNames[0];
        _maskInput = inputs.ContainsKey("attention_mask") ? "attention_mask" : null;
        _typesInput = inputs.ContainsKey("token_type_ids") ? "token_type_ids" : null;
        var unknown = session.InputNames.Except([_idsInput, _maskInput, _typesInput]).ToList();
        if (unknown.Count > 0) throw new InvalidDataException($"The encoder has inputs the embedding engine cannot feed: {string.Join(", ", unknown)}.");
        var outputs = session.OutputMetadata;
        var tokens = TokenOutputs.FirstOrDefault(outputs.ContainsKey)
            ?? outputs.FirstOrDefault(o => o.Value.Dimensions.Length == 3).Key;
        if (tokens is not null)
        {
            _output = tokens;
        }
        else
        {
            _output = PooledOutputs.FirstOrDefault(outputs.ContainsKey)
                ?? outputs.FirstOrDefault(o => o.Value.Dimensions.Length == 2).Key
                ?? throw new InvalidDataException("The encoder has neither a [batch, tokens, hidden] nor a [batch, dim] output.");
            _pooledByModel = true;
        }
        var last = outputs[_output].Dimensions[^1];
        Hidden = last > 0 ? last : null;
    }

    /// <summary>The width of the output vectors when the graph fixes it (before pooling concatenates modes).</summary>
    public int? Hidden { get; }

    /// <summary>Whether the graph pools itself (a [batch, dim] output), so the Pooling config does not apply.</summary>
    public bool PooledByModel => _pooledByModel;

    /// <summary>Sentence vectors (pooled, not normalised) for one batch of encoded texts.</summary>
    public float[][] Encode(IReadOnlyList<int[]> batch, int padId, IReadOnlyList<PoolingMode> pooling, CancellationToken ct)
    {
        var n = batch.Count;
        var length = batch.Max(b => b.Length);
        var ids = new long[n * length];
        var mask = new long[n * length];
        for (var i = 0; i < n; i++)
        {
            var row = batch[i];
            for (var t = 0; t < length; t++)
            {
                ids[i * length + t] = t < row.Length ? row[t] : padId;
                mask[i * length + t] = t < row.Length ? 1 : 0;
            }
        }
        var names = new List<string> { _idsInput };
        var values = new List<OrtValue>();
        try
        {
            values.Add(Tensors.Ids(_session, _idsInput, ids, n, length));
            if (_maskInput is not null) { names.Add(_maskInput); values.Add(Tensors.Ids(_session, _maskInput, mask, n, length)); }
            if (_typesInput is not null) { names.Add(_typesInput); values.Add(Tensors.Ids(_session, _typesInput, new long[n * length], n, length)); }
            var (data, shape) = SessionRun.Floats(_session, names, values, [_output], ct)[0];
            if (_pooledByModel)
            {
                if (shape is not [var rows, var dim] || rows != n) throw new InvalidDataException($"Output '{_output}' has shape [{string.Join(", ", shape)}]; expected [{n}, dim].");
                return Enumerable.Range(0, n).Select(i => data.AsSpan(i * (int)dim, (int)dim).ToArray()).ToArray();
            }
            if (shape is not [var b, var l, var h] || b != n || l != length)
                throw new InvalidDataException($"Output '{_output}' has shape [{string.Join(", ", shape)}]; expected [{n}, {length}, hidden].");
            return EmbeddingPool.Pool(data, mask, n, length, (int)h, pooling);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    public void Dispose() => _session.Dispose();
}
