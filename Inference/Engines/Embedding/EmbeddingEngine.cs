using System.Diagnostics;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>Sentence vectors from one model, the real tokens read (for usage) and which inputs were cut at the model's length.</summary>
/// <param name="Truncated">Indices of the inputs longer than the model's limit, embedded from their beginning.</param>
public sealed record TextEmbeddings(string Model, IReadOnlyList<float[]> Vectors, int Tokens, IReadOnlyList<int> Truncated);

/// <summary>
/// The sentence-embedding engine: texts → WordPiece ids (cut at the model's maximum length) → the encoder in
/// length-sorted batches inside the model's queue → pooling → L2 normalisation → optional Matryoshka truncation.
/// </summary>
public sealed class EmbeddingEngine(
    ModelRegistry registry,
    LoadedModels loaded,
    ModelQueues queues,
    HubMetrics metrics,
    OrtSessionFactory sessions,
    IOptions<EmbeddingOptions> options,
    ILogger<EmbeddingEngine> log)
{
    private EmbeddingOptions Options => options.Value;

    /// <param name="dimensions">Shorter vectors (Matryoshka), only in a size the model says it was trained for; null for the full size.</param>
    public async Task<TextEmbeddings> EmbedAsync(string? modelId, IReadOnlyList<string> texts, int? dimensions, CancellationToken ct, string field = "input")
    {
        var total = Stopwatch.StartNew();
        var descriptor = registry.Resolve(modelId, ModelKind.Embedding);
        Validate(texts, field);
        if (dimensions is < 1) throw new InvalidRequestException("dimensions", $"dimensions must be at least 1, not {dimensions}.");
        using var lease = await AcquireAsync(descriptor, ct);
        var model = lease.Value;
        var encoded = texts.Select(t => model.Tokenizer.Encode(t, model.Config.MaxLength)).ToArray();
        using var slot = await queues.EnterAsync(model.Id, ct);
        var sw = Stopwatch.StartNew();
        float[][] vectors;
        try
        {
            vectors = Run(model, encoded, Options.BatchSize, ct);
            metrics.Ran(model.Id, "embed_text", sw.Elapsed);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            metrics.Failed(model.Id, "embed_text");
            throw;
        }
        if (dimensions is { } d) vectors = Shorten(model, vectors, d);
        var truncated = encoded.Select((e, i) => (e, i)).Where(p => p.e.Truncated).Select(p => p.i).ToArray();
        log.LogInformation("Embedded {Texts} text(s) ({Tokens} tokens, {Truncated} cut at {MaxLength}) with {ModelId} in {ElapsedMs:0.0} ms",
            texts.Count, encoded.Sum(e => e.Ids.Length), truncated.Length, model.Config.MaxLength, model.Id, total.Elapsed.TotalMilliseconds);
        return new TextEmbeddings(model.Id, vectors, encoded.Sum(e => e.Ids.Length), truncated);
    }

    /// <summary>The loaded model for a descriptor (loads it on first use).</summary>
    public Task<ModelLease<EmbeddingModel>> AcquireAsync(ModelDescriptor descriptor, CancellationToken ct) =>
        loaded.AcquireAsync(descriptor, d => EmbeddingModel.Load(d, sessions, log), ct);

    /// <summary>Vectors for encoded texts in the input order: run in batches of texts of similar length, pooled and normalised.</summary>
    public static float[][] Run(EmbeddingModel model, IReadOnlyList<EncodedText> encoded, int batchSize, CancellationToken ct)
    {
        var order = Enumerable.Range(0, encoded.Count).OrderBy(i => encoded[i].Ids.Length).ToArray();
        var vectors = new float[encoded.Count][];
        foreach (var chunk in order.Chunk(Math.Max(1, batchSize)))
        {
            ct.ThrowIfCancellationRequested();
            var pooled = model.Encoder.Encode(chunk.Select(i => encoded[i].Ids).ToList(), model.Tokenizer.PadId, model.Config.Pooling, ct);
            for (var k = 0; k < chunk.Length; k++)
                vectors[chunk[k]] = model.Config.Normalize ? EmbeddingPool.Normalize(pooled[k]) : pooled[k];
        }
        return vectors;
    }

    private void Validate(IReadOnlyList<string> texts, string field)
    {
        if (texts.Count == 0) throw new InvalidRequestException(field, "Give at least one text to embed.");
        if (texts.Count > Options.MaxInputs)
            throw new InvalidRequestException(field, $"{texts.Count} texts is too many; the limit is {Options.MaxInputs} (Embedding:MaxInputs).");
        for (var i = 0; i < texts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(texts[i])) throw new InvalidRequestException($"{field}[{i}]", $"Text {i} is empty.");
            if (texts[i].Length > Options.MaxInputChars)
                throw new InvalidRequestException($"{field}[{i}]", $"Text {i} is {texts[i].Length} characters; the limit is {Options.MaxInputChars} (Embedding:MaxInputChars).");
        }
    }

    /// <summary>Matryoshka truncation with renormalisation, only to a size listed in the model's matryoshka_dimensions.</summary>
    private static float[][] Shorten(EmbeddingModel model, float[][] vectors, int dimensions)
    {
        var full = vectors[0].Length;
        if (dimensions == full) return vectors;
        var allowed = model.Config.MatryoshkaDimensions.Where(d => d < full).Order().ToArray();
        if (!allowed.Contains(dimensions))
        {
            throw new InvalidRequestException("dimensions", allowed.Length == 0
                ? $"Model '{model.Id}' gives {full}-dimensional vectors and was not trained to be shortened (its files list no matryoshka_dimensions); dimensions must be {full} or left out."
                : $"Model '{model.Id}' can shorten its {full}-dimensional vectors to {string.Join(", ", allowed)}; dimensions must be one of those, {full}, or left out.");
        }
        return vectors.Select(v => EmbeddingPool.Truncate(v, dimensions)).ToArray();
    }
}
