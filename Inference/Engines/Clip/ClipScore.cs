namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>
/// CLIP's scoring: L2 normalisation, cosine similarity, prompt ensembling, softmax(logit_scale * cos) over the labels,
/// or SigLIP's independent sigmoid(logit_scale * cos + logit_bias) per label; ranking.
/// </summary>
public static class ClipScore
{
    /// <summary>The vector scaled to unit length (a zero vector stays zero).</summary>
    public static float[] Normalize(ReadOnlySpan<float> v)
    {
        double sum = 0;
        foreach (var x in v) sum += (double)x * x;
        var norm = Math.Sqrt(sum);
        var result = new float[v.Length];
        if (norm == 0) return result;
        for (var i = 0; i < v.Length; i++) result[i] = (float)(v[i] / norm);
        return result;
    }

    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"Vectors of length {a.Length} and {b.Length}.");
        return System.Numerics.Tensors.TensorPrimitives.Dot(a, b);
    }

    /// <summary>Prompt ensembling (CLIP paper): the mean of a label's normalised prompt embeddings, normalised again.</summary>
    public static float[] Ensemble(IReadOnlyList<float[]> normalizedPrompts)
    {
        if (normalizedPrompts.Count == 1) return normalizedPrompts[0];
        var mean = new float[normalizedPrompts[0].Length];
        foreach (var p in normalizedPrompts)
            for (var i = 0; i < mean.Length; i++) mean[i] += p[i];
        return Normalize(mean);
    }

    /// <summary>N x M cosine similarities of normalised image and text embeddings.</summary>
    public static float[][] Similarity(IReadOnlyList<float[]> images, IReadOnlyList<float[]> texts) =>
        images.Select(img => texts.Select(t => Dot(img, t)).ToArray()).ToArray();

    /// <summary>softmax(logitScale * cos) over a row, computed stably in double.</summary>
    public static float[] Softmax(ReadOnlySpan<float> cosines, float logitScale)
    {
        var max = double.NegativeInfinity;
        foreach (var c in cosines) max = Math.Max(max, (double)logitScale * c);
        var exp = new double[cosines.Length];
        double sum = 0;
        for (var i = 0; i < cosines.Length; i++) sum += exp[i] = Math.Exp((double)logitScale * cosines[i] - max);
        var result = new float[cosines.Length];
        for (var i = 0; i < cosines.Length; i++) result[i] = (float)(exp[i] / sum);
        return result;
    }

    /// <summary>SigLIP: sigmoid(logitScale * cos + logitBias) for each label on its own (the scores need not sum to 1).</summary>
    public static float[] Sigmoid(ReadOnlySpan<float> cosines, float logitScale, float logitBias)
    {
        var result = new float[cosines.Length];
        for (var i = 0; i < cosines.Length; i++) result[i] = (float)(1 / (1 + Math.Exp(-((double)logitScale * cosines[i] + logitBias))));
        return result;
    }

    /// <summary>The label scores of one image's cosines under the model's scoring.</summary>
    public static float[] Scores(ReadOnlySpan<float> cosines, ClipScoring scoring, float logitScale, float logitBias) =>
        scoring == ClipScoring.Sigmoid ? Sigmoid(cosines, logitScale, logitBias) : Softmax(cosines, logitScale);

    /// <summary>Indices of the best <paramref name="topK"/> scores, best first (ties keep label order).</summary>
    public static int[] Rank(ReadOnlySpan<float> scores, int topK)
    {
        var order = Enumerable.Range(0, scores.Length).ToArray();
        var copy = scores.ToArray();
        Array.Sort(order, (a, b) => copy[b].CompareTo(copy[a]) is var c && c != 0 ? c : a.CompareTo(b));
        return order[..Math.Min(Math.Max(topK, 0), order.Length)];
    }

    /// <summary>
    /// The logit scale from onnx/model.onnx's outputs: logits = scale * cos(image, text), so the least-squares scale
    /// over every (image, text) pair is sum(logit * cos) / sum(cos^2).
    /// </summary>
    public static float LogitScaleFrom(float[][] logitsPerImage, IReadOnlyList<float[]> images, IReadOnlyList<float[]> texts)
    {
        double num = 0, den = 0;
        for (var i = 0; i < images.Count; i++)
            for (var j = 0; j < texts.Count; j++)
            {
                double cos = Dot(images[i], texts[j]);
                num += logitsPerImage[i][j] * cos;
                den += cos * cos;
            }
        if (den < 1e-8) throw new InvalidOperationException("The probe embeddings are orthogonal; the logit scale cannot be read.");
        return (float)(num / den);
    }

    /// <summary>
    /// SigLIP's scale and bias from onnx/model.onnx's outputs: logits = scale * cos + bias, fitted by least squares over
    /// every (image, text) pair.
    /// </summary>
    public static (float Scale, float Bias) LogitScaleAndBiasFrom(float[][] logitsPerImage, IReadOnlyList<float[]> images, IReadOnlyList<float[]> texts)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        for (var i = 0; i < images.Count; i++)
            for (var j = 0; j < texts.Count; j++) { xs.Add(Dot(images[i], texts[j])); ys.Add(logitsPerImage[i][j]); }
        double mx = xs.Average(), my = ys.Average(), sxy = 0, sxx = 0;
        for (var k = 0; k < xs.Count; k++) { sxy += (xs[k] - mx) * (ys[k] - my); sxx += (xs[k] - mx) * (xs[k] - mx); }
        if (sxx < 1e-10) throw new InvalidOperationException("The probe embeddings give one cosine; the logit scale and bias cannot be read.");
        var scale = sxy / sxx;
        return ((float)scale, (float)(my - scale * mx));
    }
}

/// <summary>How label scores are made: CLIP's softmax over the labels, or SigLIP's sigmoid per label.</summary>
public enum ClipScoring
{
    Softmax,
    Sigmoid,
}
