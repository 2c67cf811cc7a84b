using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Moderation;

/// <summary>
/// The image safety check as diffusers' StableDiffusionSafetyChecker does it: the image's CLIP embedding against the
/// embedding of each configured concept text; a concept is hit when the cosine similarity reaches its threshold, and
/// an image that hits any concept is flagged. <see cref="OpenAsync"/> loads the CLIP model and embeds the concept texts
/// once (the model's text cache keeps them); the returned checker then checks images synchronously, so the diffusion
/// worker can check each image before it is reported.
/// </summary>
public sealed class ImageSafetyCheck(ModelRegistry registry, ClipEngine clip, IOptionsMonitor<SafetyOptions> options, ILogger<ImageSafetyCheck> log)
{
    private int _warnedUnavailable;

    /// <summary>A checker, or null when the check is off (Safety:Enabled false, or no concepts).</summary>
    public async Task<ImageSafetyChecker?> OpenAsync(CancellationToken ct)
    {
        var o = options.CurrentValue;
        if (!o.Enabled || o.Concepts.Count == 0) return null;
        var concepts = o.Concepts.ToList();
        ModelDescriptor descriptor;
        try
        {
            descriptor = registry.Resolve(o.Model, ModelKind.Clip, "Safety:Model");
        }
        catch (InvalidRequestException e)
        {
            if (o.Required) throw new ModelLoadException(o.Model ?? "clip", $"The image safety check cannot run: {e.Message}", e);
            if (Interlocked.Exchange(ref _warnedUnavailable, 1) == 0)
                log.LogWarning("The image safety check cannot run ({Reason}); images are not checked (Safety:Required is false)", e.Message);
            return new ImageSafetyChecker(null, null, concepts, clip);
        }
        var lease = await clip.AcquireAsync(descriptor, ct);
        try
        {
            var vectors = clip.EmbedTextsNow(lease.Value, concepts.Select(c => c.Text).ToList(), ct);
            return new ImageSafetyChecker(lease, vectors, concepts, clip);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>Checks that make a configuration unusable (run at start).</summary>
    public static bool Valid(SafetyOptions o) =>
        o.Concepts.All(c => !string.IsNullOrWhiteSpace(c.Text) && double.IsFinite(c.Threshold) && c.Threshold is >= -1 and <= 1
            && ModerationCategories.All.Contains(c.Category));
}

/// <summary>A loaded safety check: the CLIP model (held until disposed) and the concept embeddings.</summary>
public sealed class ImageSafetyChecker(ModelLease<ClipModel>? lease, float[][]? conceptVectors, IReadOnlyList<SafetyConcept> concepts, ClipEngine clip) : IDisposable
{
    /// <summary>Verdicts for the images, in order.</summary>
    public IReadOnlyList<ImageSafety> Check(IReadOnlyList<RgbImage> images, CancellationToken ct)
    {
        if (lease is null || conceptVectors is null) return images.Select(_ => new ImageSafety(false, false, null, [])).ToList();
        var embeddings = clip.EmbedImagesNow(lease.Value, images, ct);
        return embeddings.Select(Verdict).ToList();
    }

    public ImageSafety Check(RgbImage image, CancellationToken ct) => Check([image], ct)[0];

    private ImageSafety Verdict(float[] image)
    {
        var scores = new ConceptScore[concepts.Count];
        for (var j = 0; j < concepts.Count; j++)
        {
            var similarity = System.Numerics.Tensors.TensorPrimitives.Dot(image, conceptVectors![j]);
            var c = concepts[j];
            scores[j] = new ConceptScore(c.Text, c.Category, Math.Round(similarity, 4), c.Threshold, similarity >= c.Threshold);
        }
        return new ImageSafety(scores.Any(s => s.Flagged), true, lease!.Value.Id, scores);
    }

    public void Dispose() => lease?.Dispose();
}
