using System.Text.Json;
using MultimodalHub.Contracts;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Web.Client;

namespace MultimodalHub.Web.Services.Evaluation;

/// <summary>One generated image scored against its prompt.</summary>
public sealed record ClipScoredImage(long RunId, string ImageSha256, string Prompt, string Contender, double Score);

/// <summary>CLIP score of one model and setting over its images, with its Elo entry from the A/B votes when it has one.</summary>
public sealed record ClipScoreRow(string Contender, int Images, int Prompts, double Mean, double StdDev, double Min, double Max, EloEntry? Elo);

public sealed record ClipScoreReport(string ClipModel, IReadOnlyList<ClipScoreRow> Rows, IReadOnlyList<ClipScoredImage> Images, int Skipped);

/// <summary>
/// CLIP score of generated images against their prompts (Hessel et al. 2021, in torchmetrics' scale):
/// 100 × max(cos(image embedding, prompt embedding), 0), averaged per model and setting (the A/B ratings' contenders).
/// Image vectors come from the stored embeddings (made through /v1/embeddings and stored when missing), prompt vectors
/// from /v1/embeddings.
/// </summary>
public sealed class ClipScorer(InferenceClient client, IRunStore runs, IEmbeddingStore vectors, IBlobStore blobs, IRatingService ratings)
{
    /// <summary>Most images scored in one report (newest first).</summary>
    public const int MaxImages = 2000;

    private const int Batch = 16;

    /// <summary>100 × max(cos, 0) of two vectors (normalised here, so any length works).</summary>
    public static double Score(ReadOnlySpan<float> image, ReadOnlySpan<float> text)
    {
        var cos = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(image, text);
        return 100 * Math.Max(cos, 0);
    }

    public async Task<ClipScoreReport> ScoreAsync(OwnerScope owner, string clipModel, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clipModel);
        var images = await GeneratedImagesAsync(owner, ct);
        var imageVectors = await ImageVectorsAsync(clipModel, images.Select(i => i.Sha).Distinct().ToList(), ct);
        var prompts = images.Select(i => i.Prompt).Distinct(StringComparer.Ordinal).ToList();
        var textVectors = await TextVectorsAsync(clipModel, prompts, ct);

        var scored = new List<ClipScoredImage>();
        var skipped = 0;
        foreach (var i in images)
        {
            if (!imageVectors.TryGetValue(i.Sha, out var v)) { skipped++; continue; } // bytes gone
            scored.Add(new ClipScoredImage(i.RunId, i.Sha, i.Prompt, i.Contender, Score(v, textVectors[i.Prompt])));
        }
        var elo = (await ratings.EloRankingAsync(owner, ct: ct)).ToDictionary(e => e.Contender, StringComparer.Ordinal);
        var rows = scored.GroupBy(s => s.Contender, StringComparer.Ordinal).Select(g =>
        {
            var values = g.Select(s => s.Score).ToList();
            var mean = values.Average();
            var sd = values.Count > 1 ? Math.Sqrt(values.Sum(x => (x - mean) * (x - mean)) / (values.Count - 1)) : 0;
            return new ClipScoreRow(g.Key, values.Count, g.Select(s => s.Prompt).Distinct(StringComparer.Ordinal).Count(), mean, sd, values.Min(), values.Max(),
                elo.GetValueOrDefault(g.Key));
        }).OrderByDescending(r => r.Mean).ThenBy(r => r.Contender, StringComparer.Ordinal).ToList();
        return new ClipScoreReport(clipModel, rows, scored, skipped);
    }

    private sealed record Generated(long RunId, string Sha, string Prompt, string Contender);

    /// <summary>The owner's succeeded image runs' output images with a prompt, newest first.</summary>
    private async Task<List<Generated>> GeneratedImagesAsync(OwnerScope owner, CancellationToken ct)
    {
        var query = new RunQuery { Owner = owner, Kind = RunKind.Imagine, Status = RunStatus.Succeeded, Take = 500 };
        var items = new List<GalleryItem>();
        while (items.Count < MaxImages)
        {
            var page = await runs.ListGalleryAsync(query with { Skip = items.Count }, ct);
            items.AddRange(page.Items);
            if (page.Items.Count == 0 || items.Count >= page.Total) break;
        }
        var contenders = new Dictionary<long, string>();
        var result = new List<Generated>();
        foreach (var item in items.Where(i => i.Role == RunImageRole.Output && !string.IsNullOrWhiteSpace(i.Prompt)).Take(MaxImages))
        {
            if (!contenders.TryGetValue(item.RunId, out var contender))
            {
                var run = await runs.GetAsync(item.RunId, owner, ct);
                contenders[item.RunId] = contender = RunText.Contender(item.Model, run?.ParametersJson);
            }
            result.Add(new Generated(item.RunId, item.ImageSha256, item.Prompt!.Trim(), contender));
        }
        return result;
    }

    /// <summary>Stored image vectors of <paramref name="clipModel"/>; the missing ones are embedded and stored.</summary>
    private async Task<Dictionary<string, float[]>> ImageVectorsAsync(string clipModel, IReadOnlyList<string> shas, CancellationToken ct)
    {
        var found = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var sha in shas)
        {
            if (await vectors.GetAsync(sha, clipModel, ct) is { } v) found[sha] = v;
            else missing.Add(sha);
        }
        foreach (var chunk in missing.Chunk(Batch))
        {
            var sent = new List<string>();
            var data = new List<string>();
            foreach (var sha in chunk)
            {
                if (await blobs.ReadAllAsync(sha, ct) is not { } stored) continue;
                sent.Add(sha);
                data.Add(stored.Base64);
            }
            if (sent.Count == 0) continue;
            var response = await client.PostJsonAsync<EmbeddingsRequest, EmbeddingsResponse>("v1/embeddings", new EmbeddingsRequest(Model: clipModel, Images: data), ct);
            foreach (var item in response.Data)
            {
                var sha = sent[item.Index];
                await vectors.UpsertAsync(sha, clipModel, item.Embedding.Values, ct);
                found[sha] = item.Embedding.Values;
            }
        }
        return found;
    }

    private async Task<Dictionary<string, float[]>> TextVectorsAsync(string clipModel, IReadOnlyList<string> texts, CancellationToken ct)
    {
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var chunk in texts.Chunk(64))
        {
            var response = await client.PostJsonAsync<EmbeddingsRequest, EmbeddingsResponse>("v1/embeddings",
                new EmbeddingsRequest(Input: JsonSerializer.SerializeToElement(chunk), Model: clipModel), ct);
            foreach (var item in response.Data) result[chunk[item.Index]] = item.Embedding.Values;
        }
        return result;
    }
}
