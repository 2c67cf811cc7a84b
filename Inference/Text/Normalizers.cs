using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MultimodalHub.Inference.Text;

/// <summary>A tokenizers-library normalizer step (tokenizer.json "normalizer"), applied to text between added tokens.</summary>
internal abstract record TextNormalizer
{
    public abstract string Apply(string text);

    public static TextNormalizer? FromJson(JsonElement e)
    {
        if (e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        string type = e.GetProperty("type").GetString() ?? "";
        return type switch
        {
            "Sequence" => new SequenceNormalizer([.. e.GetProperty("normalizers").EnumerateArray().Select(FromJson).OfType<TextNormalizer>()]),
            "NFC" => new UnicodeNormalizer(NormalizationForm.FormC),
            "NFD" => new UnicodeNormalizer(NormalizationForm.FormD),
            "NFKC" => new UnicodeNormalizer(NormalizationForm.FormKC),
            "NFKD" => new UnicodeNormalizer(NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "Replace" => ReplaceNormalizer.Parse(e),
            "Strip" => new StripNormalizer(Bool(e, "strip_left", true), Bool(e, "strip_right", true)),
            "Prepend" => new PrependNormalizer(e.GetProperty("prepend").GetString() ?? ""),
            _ => throw new NotSupportedException($"tokenizer.json normalizer '{type}' is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Replace, Strip, Prepend)."),
        };
    }

    internal static bool Bool(JsonElement e, string name, bool fallback) =>
        e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
}

internal sealed record SequenceNormalizer(IReadOnlyList<TextNormalizer> Steps) : TextNormalizer
{
    public override string Apply(string text)
    {
        foreach (var s in Steps) text = s.Apply(text);
        return text;
    }
}

internal sealed record UnicodeNormalizer(NormalizationForm Form) : TextNormalizer
{
    public override string Apply(string text) => text.IsNormalized(Form) ? text : text.Normalize(Form);
}

internal sealed record LowercaseNormalizer : TextNormalizer
{
    public override string Apply(string text) => text.ToLowerInvariant();
}

internal sealed record StripNormalizer(bool Left, bool Right) : TextNormalizer
{
    public override string Apply(string text) => Left && Right ? text.Trim() : Left ? text.TrimStart() : Right ? text.TrimEnd() : text;
}

internal sealed record PrependNormalizer(string Prefix) : TextNormalizer
{
    public override string Apply(string text) => text.Length == 0 ? text : Prefix + text;
}

internal sealed record ReplaceNormalizer(Regex Pattern, string Content) : TextNormalizer
{
    public override string Apply(string text) => Pattern.Replace(text, Content.Replace("$", "$$"));

    public static ReplaceNormalizer Parse(JsonElement e)
    {
        var pattern = e.GetProperty("pattern");
        string content = e.GetProperty("content").GetString() ?? "";
        return new ReplaceNormalizer(PatternJson.ToRegex(pattern), content);
    }
}

/// <summary>tokenizer.json patterns: {"Regex": "..."} or {"String": "..."} (a literal).</summary>
internal static class PatternJson
{
    public static Regex ToRegex(JsonElement pattern)
    {
        if (pattern.TryGetProperty("Regex", out var r)) return new Regex(r.GetString()!, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        if (pattern.TryGetProperty("String", out var s)) return new Regex(Regex.Escape(s.GetString()!), RegexOptions.Compiled | RegexOptions.CultureInvariant);
        throw new NotSupportedException("tokenizer.json pattern must be {\"Regex\": ...} or {\"String\": ...}.");
    }
}
