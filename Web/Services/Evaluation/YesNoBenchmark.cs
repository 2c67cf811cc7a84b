using System.Text.Json;
using MultimodalHub.Contracts;
using MultimodalHub.Data.Services;
using MultimodalHub.Web.Client;

namespace MultimodalHub.Web.Services.Evaluation;

/// <summary>One yes/no question about one image (MME's layout: each image has a question answered "yes" and one answered "no").</summary>
/// <param name="Image">base64 or a data: URL.</param>
public sealed record YesNoItem(string ImageId, string Category, string Question, string Answer, string Image);

/// <summary>An item's outcome (without the image).</summary>
public sealed record YesNoAnswer(string ImageId, string Category, string Question, string Expected, string Given, bool Correct);

/// <summary>MME's figures for one category: accuracy over questions, accuracy+ over images (every question of the image
/// right), and its score, 100 × (accuracy + accuracy+).</summary>
public sealed record CategoryScore(string Category, int Images, int Questions, double Accuracy, double AccuracyPlus)
{
    public double Score => 100 * (Accuracy + AccuracyPlus);
}

public sealed record YesNoReport(string Model, string Dataset, IReadOnlyList<CategoryScore> Categories, IReadOnlyList<YesNoAnswer> Answers,
    int Images, double Accuracy, double AccuracyPlus, double DurationMs, long? StoredRunId = null);

/// <summary>MME's scoring: answers reduced to yes / no / other, accuracy and accuracy+ per category and overall.</summary>
public static class YesNoScoring
{
    public const string Benchmark = "yes-no";

    /// <summary>As MME's evaluation script: lower case, and an answer that starts with "yes" or "no" is that; anything else is "other" (wrong).</summary>
    public static string Normalize(string answer)
    {
        var a = answer.Trim().ToLowerInvariant();
        return a.StartsWith("yes", StringComparison.Ordinal) ? "yes" : a.StartsWith("no", StringComparison.Ordinal) && (a.Length == 2 || !char.IsLetter(a[2])) ? "no" : "other";
    }

    public static CategoryScore Score(string category, IReadOnlyList<YesNoAnswer> answers)
    {
        var images = answers.GroupBy(a => a.ImageId, StringComparer.Ordinal).ToList();
        return new CategoryScore(category, images.Count, answers.Count,
            answers.Count == 0 ? 0 : (double)answers.Count(a => a.Correct) / answers.Count,
            images.Count == 0 ? 0 : (double)images.Count(g => g.All(a => a.Correct)) / images.Count);
    }

    /// <summary>Per category (in first-seen order) and overall (accuracy over all questions, accuracy+ over all images).</summary>
    public static (IReadOnlyList<CategoryScore> Categories, CategoryScore Overall) Score(IReadOnlyList<YesNoAnswer> answers) =>
        (answers.GroupBy(a => a.Category, StringComparer.Ordinal).Select(g => Score(g.Key, g.ToList())).ToList(), Score("all", answers));
}

/// <summary>Runs a yes/no set against a vision-language model through /v1/vqa (greedy), one question at a time,
/// and stores the run in the evaluation history.</summary>
public sealed class YesNoRunner(InferenceClient client, IEvalStore store, TimeProvider time)
{
    public async Task<YesNoReport> RunAsync(string model, string dataset, IReadOnlyList<YesNoItem> items, string ownerId,
        IProgress<int>? progress = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (items.Count == 0) throw new ArgumentException("The set has no questions.", nameof(items));
        var started = time.GetTimestamp();
        var answers = new List<YesNoAnswer>(items.Count);
        foreach (var item in items)
        {
            var response = await client.PostJsonAsync<VqaRequest, VlmResponse>("v1/vqa",
                new VqaRequest { Image = item.Image, Question = item.Question, Model = model, MaxTokens = 8, Temperature = 0 }, ct);
            var given = response.Text.Trim();
            answers.Add(new YesNoAnswer(item.ImageId, item.Category, item.Question, item.Answer, given, YesNoScoring.Normalize(given) == item.Answer));
            progress?.Report(answers.Count);
        }
        var (categories, overall) = YesNoScoring.Score(answers);
        var ms = time.GetElapsedTime(started).TotalMilliseconds;
        var stored = await store.AddAsync(new NewEvalRun(YesNoScoring.Benchmark, model, dataset, overall.Images, overall.Questions, overall.Accuracy, overall.AccuracyPlus,
            JsonSerializer.Serialize(categories, RunText.Json), JsonSerializer.Serialize(answers, RunText.Json), ms)
        { OwnerId = ownerId }, CancellationToken.None);
        return new YesNoReport(model, dataset, categories, answers, overall.Images, overall.Accuracy, overall.AccuracyPlus, ms, stored.Id);
    }

    /// <summary>The categories of a stored run.</summary>
    public static IReadOnlyList<CategoryScore> Categories(string json)
    {
        try { return JsonSerializer.Deserialize<List<CategoryScore>>(json, RunText.Json) ?? []; }
        catch (JsonException) { return []; }
    }

    /// <summary>The answers of a stored run.</summary>
    public static IReadOnlyList<YesNoAnswer> Answers(string json)
    {
        try { return JsonSerializer.Deserialize<List<YesNoAnswer>>(json, RunText.Json) ?? []; }
        catch (JsonException) { return []; }
    }
}
