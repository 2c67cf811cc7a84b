using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Moderation;

/// <summary>The text side of /v1/moderations: the word and pattern rules, then the chat model's classification prompt.</summary>
public sealed class TextModeration(ModelRegistry registry, ChatEngine chat, IOptionsMonitor<ModerationOptions> options, ILogger<TextModeration> log)
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(200);
    private int _warnedNoModel;

    /// <summary>The rules that match any of the texts (inputIndex: the text's position).</summary>
    public IReadOnlyList<ModerationRuleHit> MatchRules(IReadOnlyList<string> texts)
    {
        var hits = new List<ModerationRuleHit>();
        foreach (var rule in options.CurrentValue.Rules)
        {
            var matchers = rule.Words.Select(w => (w, new Regex($@"(?<!\w){Regex.Escape(w)}(?!\w)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexTimeout)))
                .Concat(rule.Patterns.Select(p => (p, new Regex(p, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexTimeout))));
            foreach (var (source, regex) in matchers)
                for (var i = 0; i < texts.Count; i++)
                    if (regex.IsMatch(texts[i])) hits.Add(new ModerationRuleHit(rule.Category, source, i));
        }
        return hits;
    }

    /// <summary>The classifier's answer for the text, or null when it is off (or no chat model is installed).</summary>
    public async Task<ModerationClassifierAnswer?> ClassifyAsync(string text, CancellationToken ct)
    {
        var o = options.CurrentValue.Classifier;
        if (!o.Enabled || string.IsNullOrWhiteSpace(text)) return null;
        if (o.Model is null && !registry.Models.Any(m => m.Kind == ModelKind.Chat && m.IsValid))
        {
            if (Interlocked.Exchange(ref _warnedNoModel, 1) == 0) log.LogWarning("Moderation:Classifier is on but no chat model is installed; texts are checked by the rules only");
            return null;
        }
        var prompt = o.Prompt.Replace("{categories}", string.Join(", ", ModerationCategories.All), StringComparison.Ordinal)
            .Replace("{text}", text, StringComparison.Ordinal);
        var job = new ChatJob(o.Model, [new ChatMessage("user", prompt)], null, new SamplingRequest(Temperature: 0, MaxNewTokens: o.MaxTokens));
        var summary = await chat.CompleteAsync(job, null, ct);
        var answer = summary.Choices[0].Text.Trim();
        var isUnsafe = Regex.IsMatch(answer, o.UnsafePattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Multiline, RegexTimeout);
        var named = ModerationCategories.All.Where(c => Regex.IsMatch(answer, $@"(?<![\w/-]){Regex.Escape(c)}(?![\w/-])", RegexOptions.IgnoreCase, RegexTimeout)).ToList();
        IReadOnlyList<string> categories = !isUnsafe ? [] : named.Count > 0 ? named : [o.DefaultCategory];
        return new ModerationClassifierAnswer(summary.Model, answer, isUnsafe, categories);
    }

    /// <summary>Checks that make a configuration unusable (run at start): categories known, patterns valid.</summary>
    public static bool Valid(ModerationOptions o)
    {
        if (!ModerationCategories.All.Contains(o.Classifier.DefaultCategory) || o.MaxInputs < 1 || o.MaxInputChars < 1) return false;
        foreach (var rule in o.Rules)
        {
            if (!ModerationCategories.All.Contains(rule.Category) || rule.Words.Any(string.IsNullOrWhiteSpace)) return false;
            foreach (var p in rule.Patterns.Append(o.Classifier.UnsafePattern))
            {
                try { _ = new Regex(p, RegexOptions.None, RegexTimeout); }
                catch (ArgumentException) { return false; }
            }
        }
        return true;
    }
}
