using System.Diagnostics;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>A zero-shot classification request in engine terms (the HTTP and CLI front ends build it).</summary>
public sealed record ClipClassifyInput(
    IReadOnlyList<ClipImageInput> Images,
    IReadOnlyList<string>? Labels,
    IReadOnlyList<string>? Templates = null,
    int? TopK = null,
    string? Model = null);

/// <summary>L2-normalised vectors from one model, with the real tokens read (texts) for usage accounting.</summary>
public sealed record ClipEmbeddings(string Model, IReadOnlyList<float[]> Vectors, int Tokens);

/// <summary>
/// The CLIP engine: zero-shot classification (prompt templates, ensembling, softmax with the model's logit scale,
/// ranking, similarity matrix) and image/text embeddings for search. Images are decoded and preprocessed before the
/// request takes its place in the model's queue; the towers run batched inside it.
/// </summary>
public sealed class ClipEngine(
    ModelRegistry registry,
    LoadedModels loaded,
    ModelQueues queues,
    HubMetrics metrics,
    OrtSessionFactory sessions,
    IOptions<ClipOptions> clipOptions,
    IOptions<ImageLimits> imageLimits,
    ILogger<ClipEngine> log)
{
    private ClipOptions Options => clipOptions.Value;

    public async Task<ClassifyResponse> ClassifyAsync(ClipClassifyInput input, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var descriptor = registry.Resolve(input.Model, ModelKind.Clip);
        var labels = ClipTokenize.ValidateLabels(input.Labels, Options);
        var templates = ClipTokenize.ValidateTemplates(input.Templates, Options);
        if (input.TopK is < 1) throw new InvalidRequestException("top_k", $"top_k must be at least 1, not {input.TopK}.");
        var topK = Math.Min(input.TopK ?? labels.Count, labels.Count);
        CheckImageCount(input.Images, "images");

        var (images, decodeTime) = ClipPreprocess.DecodeAll(input.Images, imageLimits.Value);
        using var lease = await AcquireAsync(descriptor, ct);
        var model = lease.Value;
        var sw = Stopwatch.StartNew();
        var pixels = ClipPreprocess.PixelValues(model.Processor, images);
        var preprocessTime = sw.Elapsed;

        sw.Restart();
        using var slot = await queues.EnterAsync(model.Id, ct);
        var queueTime = sw.Elapsed;
        try
        {
            sw.Restart();
            var imageEmbeds = model.Towers.EmbedImages(pixels, images.Length, model.Processor.Height, model.Processor.Width, Options.BatchSize, ct)
                .Select(v => ClipScore.Normalize(v)).ToArray();
            var imageTime = sw.Elapsed;

            sw.Restart();
            var prompts = labels.SelectMany(l => templates.Select(t => ClipTokenize.Prompt(t, l))).ToList();
            var (promptEmbeds, encoded, cached, _) = EmbedPrompts(model, prompts, ct);
            var labelEmbeds = new float[labels.Count][];
            for (var j = 0; j < labels.Count; j++)
                labelEmbeds[j] = ClipScore.Ensemble(promptEmbeds.Skip(j * templates.Count).Take(templates.Count).ToList());
            var textTime = sw.Elapsed;

            sw.Restart();
            var similarity = ClipScore.Similarity(imageEmbeds, labelEmbeds);
            var probabilities = similarity.Select(row => ClipScore.Scores(row, model.Scoring, model.LogitScale, model.LogitBias)).ToArray();
            var results = new ImageClassification[images.Length];
            for (var i = 0; i < images.Length; i++)
            {
                var ranked = ClipScore.Rank(probabilities[i], topK);
                results[i] = new ImageClassification(i, input.Images[i].Filename,
                    ranked.Select(j => new LabelScore(labels[j], probabilities[i][j], similarity[i][j])).ToList());
            }
            var scoreTime = sw.Elapsed;
            metrics.Ran(model.Id, "classify", total.Elapsed);
            log.LogInformation("Classified {Images} image(s) against {Labels} label(s) x {Templates} template(s) with {ModelId} in {ElapsedMs:0.0} ms",
                images.Length, labels.Count, templates.Count, model.Id, total.Elapsed.TotalMilliseconds);
            return new ClassifyResponse(model.Id, labels, templates, results, similarity, probabilities, model.LogitScale,
                new ClipTimings(Ms(decodeTime), Ms(preprocessTime), Ms(queueTime), Ms(imageTime), Ms(textTime), Ms(scoreTime), Ms(total.Elapsed), encoded, cached),
                model.Scoring == ClipScoring.Sigmoid ? "sigmoid" : "softmax", model.LogitBias);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            metrics.Failed(model.Id, "classify");
            throw;
        }
    }

    /// <summary>Normalised text embeddings (no template applied: each text is embedded as given).</summary>
    public async Task<ClipEmbeddings> EmbedTextsAsync(string? modelId, IReadOnlyList<string> texts, CancellationToken ct, string field = "input")
    {
        var descriptor = registry.Resolve(modelId, ModelKind.Clip);
        if (texts.Count == 0) throw new InvalidRequestException(field, "Give at least one text to embed.");
        if (texts.Count > Options.MaxTexts) throw new InvalidRequestException(field, $"{texts.Count} texts is too many; the limit is {Options.MaxTexts}.");
        for (var i = 0; i < texts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(texts[i])) throw new InvalidRequestException($"{field}[{i}]", $"Text {i} is empty.");
            if (texts[i].Length > Options.MaxTextChars)
                throw new InvalidRequestException($"{field}[{i}]", $"Text {i} is {texts[i].Length} characters; the limit is {Options.MaxTextChars}.");
        }
        using var lease = await AcquireAsync(descriptor, ct);
        var model = lease.Value;
        using var slot = await queues.EnterAsync(model.Id, ct);
        var sw = Stopwatch.StartNew();
        try
        {
            var (vectors, _, _, tokens) = EmbedPrompts(model, texts, ct);
            metrics.Ran(model.Id, "embed_text", sw.Elapsed);
            return new ClipEmbeddings(model.Id, vectors, tokens);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            metrics.Failed(model.Id, "embed_text");
            throw;
        }
    }

    /// <summary>Normalised image embeddings (decoded with the guard rails; errors name each image's field).</summary>
    public async Task<ClipEmbeddings> EmbedImagesAsync(string? modelId, IReadOnlyList<ClipImageInput> inputs, CancellationToken ct, string field = "images")
    {
        var descriptor = registry.Resolve(modelId, ModelKind.Clip);
        CheckImageCount(inputs, field);
        var (images, _) = ClipPreprocess.DecodeAll(inputs, imageLimits.Value);
        using var lease = await AcquireAsync(descriptor, ct);
        var model = lease.Value;
        var pixels = ClipPreprocess.PixelValues(model.Processor, images);
        using var slot = await queues.EnterAsync(model.Id, ct);
        var sw = Stopwatch.StartNew();
        try
        {
            var vectors = model.Towers.EmbedImages(pixels, images.Length, model.Processor.Height, model.Processor.Width, Options.BatchSize, ct)
                .Select(v => ClipScore.Normalize(v)).ToArray();
            metrics.Ran(model.Id, "embed_image", sw.Elapsed);
            return new ClipEmbeddings(model.Id, vectors, 0);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            metrics.Failed(model.Id, "embed_image");
            throw;
        }
    }

    /// <summary>Normalised image embeddings on a model the caller holds (no queue: the safety check runs inside another model's slot).</summary>
    public float[][] EmbedImagesNow(ClipModel model, IReadOnlyList<RgbImage> images, CancellationToken ct)
    {
        var pixels = ClipPreprocess.PixelValues(model.Processor, images);
        return model.Towers.EmbedImages(pixels, images.Count, model.Processor.Height, model.Processor.Width, Options.BatchSize, ct)
            .Select(v => ClipScore.Normalize(v)).ToArray();
    }

    /// <summary>Normalised text embeddings on a model the caller holds, from the model's text cache where present.</summary>
    public float[][] EmbedTextsNow(ClipModel model, IReadOnlyList<string> texts, CancellationToken ct) => EmbedPrompts(model, texts, ct).Vectors;

    /// <summary>The loaded model for a descriptor (loads it on first use).</summary>
    public Task<ModelLease<ClipModel>> AcquireAsync(ModelDescriptor descriptor, CancellationToken ct) =>
        loaded.AcquireAsync(descriptor, d => ClipModel.Load(d, sessions, Options, log), ct);

    /// <summary>
    /// Normalised embeddings of prompts, from the cache where present; the rest tokenized and run in batches.
    /// Tokens: the real tokens (bos/eos included, at most MaxTextLength) of every prompt, cached and repeated ones too.
    /// </summary>
    private (float[][] Vectors, int Encoded, int Cached, int Tokens) EmbedPrompts(ClipModel model, IReadOnlyList<string> prompts, CancellationToken ct)
    {
        var vectors = new float[prompts.Count][];
        var missing = new List<string>();
        var cached = 0;
        var tokens = 0;
        var pending = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < prompts.Count; i++)
        {
            if (model.TextCache.TryGet(prompts[i], out var hit)) { vectors[i] = hit.Vector; tokens += hit.Tokens; cached++; continue; }
            if (!pending.TryGetValue(prompts[i], out var slots)) { pending[prompts[i]] = slots = []; missing.Add(prompts[i]); }
            slots.Add(i);
        }
        if (missing.Count > 0)
        {
            var encodings = ClipTokenize.Encode(model.Tokenizer, missing, model.MaxTextLength);
            var raw = model.Towers.EmbedTexts(encodings, Options.BatchSize, ct);
            for (var k = 0; k < missing.Count; k++)
            {
                var v = ClipScore.Normalize(raw[k]);
                var count = ClipTokenize.TokenCount(encodings[k]);
                model.TextCache.Add(missing[k], (v, count));
                foreach (var i in pending[missing[k]]) { vectors[i] = v; tokens += count; }
            }
        }
        return (vectors, missing.Count, cached, tokens);
    }

    private void CheckImageCount<T>(IReadOnlyList<T>? images, string field)
    {
        if (images is null || images.Count == 0) throw new InvalidRequestException(field, "Give at least one image.");
        if (images.Count > Options.MaxImages)
            throw new InvalidRequestException(field, $"{images.Count} images is too many; the limit is {Options.MaxImages} (Clip:MaxImages).");
    }

    private static double Ms(TimeSpan t) => Math.Round(t.TotalMilliseconds, 3);
}
