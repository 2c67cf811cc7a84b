using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>
/// The two CLIP towers (transformers.js layout: onnx/vision_model.onnx, onnx/text_model.onnx). Inputs are fed and
/// outputs read by the names the sessions declare: pixel_values / image_embeds and input_ids (+ attention_mask when
/// declared) / text_embeds, else the first input and the first rank-2 output. Embeddings come back as the model
/// gives them (not normalised); large batches run in chunks of batchSize.
/// </summary>
public sealed class ClipTowers : IDisposable
{
    private readonly InferenceSession _vision;
    private readonly InferenceSession _text;
    private readonly string _pixelInput;
    private readonly string _imageOutput;
    private readonly string _idsInput;
    private readonly string? _maskInput;
    private readonly string _textOutput;

    public ClipTowers(InferenceSession vision, InferenceSession text)
    {
        _vision = vision;
        _text = text;
        _pixelInput = InputNamed(vision, "pixel_values") ?? vision.InputNames[0];
        _imageOutput = OutputNamed(vision, "image_embeds") ?? FirstRank2Output(vision);
        _idsInput = InputNamed(text, "input_ids") ?? text.InputNames[0];
        _maskInput = InputNamed(text, "attention_mask");
        _textOutput = OutputNamed(text, "text_embeds") ?? FirstRank2Output(text);
        var fixedLength = text.InputMetadata[_idsInput].Dimensions is { Length: 2 } d && d[1] > 0 ? d[1] : (int?)null;
        FixedTextLength = fixedLength;
    }

    /// <summary>The sequence length the text model requires, when its export fixed one (else any length up to the maximum).</summary>
    public int? FixedTextLength { get; }

    /// <summary>Image embeddings for NCHW pixel values of <paramref name="count"/> images.</summary>
    public float[][] EmbedImages(float[] pixelValues, int count, int height, int width, int batchSize, CancellationToken ct)
    {
        var perImage = 3 * height * width;
        if (pixelValues.Length != count * perImage) throw new ArgumentException("pixel_values length does not match count x 3 x H x W.");
        var result = new float[count][];
        for (var start = 0; start < count; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            var n = Math.Min(batchSize, count - start);
            var chunk = start == 0 && n == count ? pixelValues : pixelValues[(start * perImage)..((start + n) * perImage)];
            using var input = Tensors.FloatInput(_vision, _pixelInput, chunk, n, 3, height, width);
            var rows = Run(_vision, [_pixelInput], [input], _imageOutput, n, ct);
            Array.Copy(rows, 0, result, start, n);
        }
        return result;
    }

    /// <summary>Text embeddings for fixed-length encodings; the batch is cut to its longest real sequence unless the export fixes the length.</summary>
    public float[][] EmbedTexts(IReadOnlyList<PaddedIds> encodings, int batchSize, CancellationToken ct)
    {
        var result = new float[encodings.Count][];
        for (var start = 0; start < encodings.Count; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            var n = Math.Min(batchSize, encodings.Count - start);
            var length = FixedTextLength ?? Enumerable.Range(start, n).Max(i => Math.Max(1, ClipTokenize.TokenCount(encodings[i])));
            var ids = new long[n * length];
            var mask = new long[n * length];
            for (var i = 0; i < n; i++)
            {
                var e = encodings[start + i];
                if (e.InputIds.Length < length) throw new ArgumentException($"Encoding {start + i} has {e.InputIds.Length} ids; the model needs {length}.");
                Array.Copy(e.InputIds, 0, ids, i * length, length);
                Array.Copy(e.AttentionMask, 0, mask, i * length, length);
            }
            using var idsValue = Tensors.Ids(_text, _idsInput, ids, n, length);
            var rows = _maskInput is null
                ? Run(_text, [_idsInput], [idsValue], _textOutput, n, ct)
                : RunWithMask(idsValue, mask, n, length, ct);
            Array.Copy(rows, 0, result, start, n);
        }
        return result;
    }

    private float[][] RunWithMask(OrtValue idsValue, long[] mask, int n, int length, CancellationToken ct)
    {
        using var maskValue = Tensors.Ids(_text, _maskInput!, mask, n, length);
        return Run(_text, [_idsInput, _maskInput!], [idsValue, maskValue], _textOutput, n, ct);
    }

    private static float[][] Run(InferenceSession session, string[] names, OrtValue[] values, string output, int n, CancellationToken ct)
    {
        var (data, shape) = SessionRun.Floats(session, names, values, [output], ct)[0];
        if (shape.Length != 2 || shape[0] != n) throw new InvalidOperationException($"Output '{output}' has shape [{string.Join(", ", shape)}]; expected [{n}, dim].");
        return SplitRows(data, n, (int)shape[1]);
    }

    /// <summary>The <paramref name="n"/> rows of <paramref name="dim"/> values of a row-major [n, dim] output.</summary>
    internal static float[][] SplitRows(ReadOnlySpan<float> data, int n, int dim)
    {
        var rows = new float[n][];
        for (var i = 0; i < n; i++) rows[i] = data.Slice(i * dim, dim).ToArray();
        return rows;
    }

    private static string? InputNamed(InferenceSession s, string name) => s.InputMetadata.ContainsKey(name) ? name : null;

    private static string? OutputNamed(InferenceSession s, string name) => s.OutputMetadata.ContainsKey(name) ? name : null;

    private static string FirstRank2Output(InferenceSession s) =>
        s.OutputMetadata.FirstOrDefault(o => o.Value.Dimensions.Length == 2).Key
        ?? throw new InvalidOperationException("The model has no rank-2 (batch x dim) embedding output.");

    public void Dispose()
    {
        _vision.Dispose();
        _text.Dispose();
    }
}
