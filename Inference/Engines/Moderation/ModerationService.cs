using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Imaging;

namespace MultimodalHub.Inference.Engines.Moderation;

/// <summary>One input of a moderation request: texts and images judged together as one result.</summary>
public sealed record ModerationInput(IReadOnlyList<string> Texts, IReadOnlyList<RgbImage> Images);

/// <summary>
/// /v1/moderations: texts through the rules and the chat model's classification prompt, images through the image
/// safety check's CLIP concepts. A category's score is 1 when a rule or the classifier flags it, else the highest
/// cosine similarity (at least 0) of an image concept of that category; it is flagged when a rule, the classifier or a
/// concept flags it.
/// </summary>
public sealed class ModerationService(TextModeration text, ImageSafetyCheck safety, IOptionsMonitor<SafetyOptions> safetyOptions)
{
    public async Task<ModerationResult> JudgeAsync(ModerationInput input, CancellationToken ct)
    {
        var rules = text.MatchRules(input.Texts);
        ModerationClassifierAnswer? classifier = null;
        var joined = string.Join("\n", input.Texts.Where(t => !string.IsNullOrWhiteSpace(t)));
        if (joined.Length > 0) classifier = await text.ClassifyAsync(joined, ct);
        IReadOnlyList<ImageSafety> images = [];
        if (input.Images.Count > 0)
        {
            using var checker = await safety.OpenAsync(ct);
            images = checker?.Check(input.Images, ct) ?? [];
        }

        var categories = new Dictionary<string, bool>(StringComparer.Ordinal);
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        var applied = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var imageCategories = safetyOptions.CurrentValue.Enabled ? safetyOptions.CurrentValue.Concepts.Select(c => c.Category).ToHashSet() : [];
        foreach (var category in ModerationCategories.All)
        {
            var byText = rules.Any(r => r.Category == category) || classifier?.Categories.Contains(category) == true;
            var concepts = images.SelectMany(i => i.Concepts).Where(c => c.Category == category).ToList();
            var byImage = concepts.Any(c => c.Flagged);
            categories[category] = byText || byImage;
            scores[category] = byText ? 1.0 : Math.Round(Math.Max(0, concepts.Select(c => c.Similarity).DefaultIfEmpty(0).Max()), 4);
            var kinds = new List<string>();
            if (input.Texts.Count > 0) kinds.Add("text");
            if (input.Images.Count > 0 && imageCategories.Contains(category)) kinds.Add("image");
            applied[category] = kinds;
        }
        return new ModerationResult(categories.Values.Any(v => v), categories, scores, applied, new ModerationDetails(rules, classifier, images));
    }
}
