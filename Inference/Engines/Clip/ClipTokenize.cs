using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>Labels and templates to prompts, and prompts to padded token ids for the text tower.</summary>
public static class ClipTokenize
{
    public const string DefaultTemplate = "a photo of a {}.";

    /// <summary>The prompt of a label under a template: "{}" (Python style, as CLIP's own templates) or "{label}" replaced.</summary>
    public static string Prompt(string template, string label) =>
        template.Contains("{}", StringComparison.Ordinal)
            ? template.Replace("{}", label, StringComparison.Ordinal)
            : template.Replace("{label}", label, StringComparison.Ordinal);

    /// <summary>Check the labels: at least one, at most the limit, none empty or too long.</summary>
    public static IReadOnlyList<string> ValidateLabels(IReadOnlyList<string>? labels, ClipOptions options, string field = "labels")
    {
        if (labels is null || labels.Count == 0) throw new InvalidRequestException(field, "Give at least one label to classify against.");
        if (labels.Count > options.MaxLabels)
            throw new InvalidRequestException(field, $"{labels.Count} labels is too many; the limit is {options.MaxLabels}.");
        var result = new string[labels.Count];
        for (var i = 0; i < labels.Count; i++)
        {
            var label = labels[i]?.Trim();
            if (string.IsNullOrEmpty(label)) throw new InvalidRequestException($"{field}[{i}]", $"Label {i} is empty.");
            if (label.Length > options.MaxTextChars)
                throw new InvalidRequestException($"{field}[{i}]", $"Label {i} is {label.Length} characters; the limit is {options.MaxTextChars}.");
            result[i] = label;
        }
        return result;
    }

    /// <summary>Check the templates (default: "a photo of a {}."); each must say where the label goes.</summary>
    public static IReadOnlyList<string> ValidateTemplates(IReadOnlyList<string>? templates, ClipOptions options, string field = "templates")
    {
        if (templates is null || templates.Count == 0) return [DefaultTemplate];
        if (templates.Count > options.MaxTemplates)
            throw new InvalidRequestException(field, $"{templates.Count} templates is too many; the limit is {options.MaxTemplates}.");
        var result = new string[templates.Count];
        for (var i = 0; i < templates.Count; i++)
        {
            var t = templates[i]?.Trim();
            if (string.IsNullOrEmpty(t)) throw new InvalidRequestException($"{field}[{i}]", $"Template {i} is empty.");
            if (!t.Contains("{}", StringComparison.Ordinal) && !t.Contains("{label}", StringComparison.Ordinal))
                throw new InvalidRequestException($"{field}[{i}]", $"Template {i} (\"{t}\") must contain {{}} where the label goes, e.g. \"{DefaultTemplate}\".");
            if (t.Length > options.MaxTextChars)
                throw new InvalidRequestException($"{field}[{i}]", $"Template {i} is {t.Length} characters; the limit is {options.MaxTextChars}.");
            result[i] = t;
        }
        return result;
    }

    /// <summary>Fixed-length CLIP encodings ([bos] + tokens + [eos], truncated/padded to maxLength).</summary>
    public static PaddedIds[] Encode(ITextTokenizer tokenizer, IReadOnlyList<string> texts, int maxLength) =>
        texts.Select(t => tokenizer.EncodePadded(t, maxLength)).ToArray();

    /// <summary>Real tokens (attention mask ones) of an encoding.</summary>
    public static int TokenCount(PaddedIds ids)
    {
        var n = 0;
        foreach (var m in ids.AttentionMask) n += m != 0 ? 1 : 0;
        return n;
    }
}
