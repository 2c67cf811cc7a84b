using System.Text.Json;
using System.Text.RegularExpressions;

namespace MultimodalHub.Inference.Text;

/// <summary>A tokenizers-library pre-tokenizer step (tokenizer.json "pre_tokenizer"): splits each piece into smaller pieces.</summary>
internal abstract record PreTokenizerStep
{
    public abstract void Split(string piece, List<string> output);

    /// <summary>True when this step maps text to GPT-2 byte-level symbols (the BPE vocabulary is then byte-level).</summary>
    public virtual bool IsByteLevel => false;

    public static PreTokenizerStep? FromJson(JsonElement e)
    {
        if (e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        string type = e.GetProperty("type").GetString() ?? "";
        return type switch
        {
            "Sequence" => new SequencePreTokenizer([.. e.GetProperty("pretokenizers").EnumerateArray().Select(FromJson).OfType<PreTokenizerStep>()]),
            "Split" => new SplitPreTokenizer(
                PatternJson.ToRegex(e.GetProperty("pattern")),
                Enum.Parse<SplitBehavior>(e.GetProperty("behavior").GetString() ?? "Isolated"),
                TextNormalizer.Bool(e, "invert", false)),
            "ByteLevel" => new ByteLevelPreTokenizer(TextNormalizer.Bool(e, "add_prefix_space", false), TextNormalizer.Bool(e, "use_regex", true)),
            "Digits" => new SplitPreTokenizer(
                new Regex(TextNormalizer.Bool(e, "individual_digits", false) ? @"\p{Nd}" : @"\p{Nd}+", RegexOptions.Compiled), SplitBehavior.Isolated, false),
            "Whitespace" => new SplitPreTokenizer(new Regex(@"\w+|[^\w\s]+", RegexOptions.Compiled), SplitBehavior.Removed, true),
            "WhitespaceSplit" => new SplitPreTokenizer(new Regex(@"\s+", RegexOptions.Compiled), SplitBehavior.Removed, false),
            "Punctuation" => new SplitPreTokenizer(new Regex(@"\p{P}", RegexOptions.Compiled), SplitBehavior.Isolated, false),
            _ => throw new NotSupportedException($"tokenizer.json pre_tokenizer '{type}' is not supported (supported: Sequence, Split, ByteLevel, Digits, Whitespace, WhitespaceSplit, Punctuation)."),
        };
    }
}

/// <summary>What Split does with the pattern's matches (the "delimiters"; with invert, the text between matches).</summary>
internal enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

internal sealed record SequencePreTokenizer(IReadOnlyList<PreTokenizerStep> Steps) : PreTokenizerStep
{
    public override bool IsByteLevel => Steps.Any(s => s.IsByteLevel);

    public override void Split(string piece, List<string> output)
    {
        List<string> current = [piece];
        foreach (var step in Steps)
        {
            var next = new List<string>(current.Count * 2);
            foreach (var p in current) step.Split(p, next);
            current = next;
        }
        output.AddRange(current);
    }
}

internal sealed record SplitPreTokenizer(Regex Pattern, SplitBehavior Behavior, bool Invert) : PreTokenizerStep
{
    public override void Split(string piece, List<string> output)
    {
        // (text, isDelimiter) runs covering the whole piece.
        var runs = new List<(int Start, int Length, bool Delimiter)>();
        int pos = 0;
        for (var m = Pattern.Match(piece); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            if (m.Index > pos) runs.Add((pos, m.Index - pos, Invert));
            runs.Add((m.Index, m.Length, !Invert));
            pos = m.Index + m.Length;
        }
        if (pos < piece.Length) runs.Add((pos, piece.Length - pos, Invert));

        string? pending = null; // MergedWithNext carry
        string? previousDelimiter = null; // Contiguous
        foreach (var (start, length, delimiter) in runs)
        {
            string text = piece.Substring(start, length);
            if (!delimiter)
            {
                Flush(ref previousDelimiter, output);
                output.Add(pending is null ? text : pending + text);
                pending = null;
                continue;
            }
            switch (Behavior)
            {
                case SplitBehavior.Removed: break;
                case SplitBehavior.Isolated: output.Add(text); break;
                case SplitBehavior.Contiguous: previousDelimiter = previousDelimiter is null ? text : previousDelimiter + text; break;
                case SplitBehavior.MergedWithPrevious:
                    if (output.Count > 0 && runs.Count > 0 && start > 0) output[^1] += text; else output.Add(text);
                    break;
                case SplitBehavior.MergedWithNext: pending = pending is null ? text : pending + text; break;
            }
        }
        Flush(ref previousDelimiter, output);
        if (pending is not null) output.Add(pending);
    }

    private static void Flush(ref string? delimiter, List<string> output)
    {
        if (delimiter is null) return;
        output.Add(delimiter);
        delimiter = null;
    }
}

/// <summary>ByteLevel pre-tokenizer: optional prefix space, optional GPT-2 regex split; the byte mapping itself is done by the BPE model.</summary>
internal sealed record ByteLevelPreTokenizer(bool AddPrefixSpace, bool UseRegex) : PreTokenizerStep
{
    private static readonly Regex Gpt2 = new(ByteLevel.Gpt2Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    public override bool IsByteLevel => true;

    public override void Split(string piece, List<string> output)
    {
        if (AddPrefixSpace && !piece.StartsWith(' ')) piece = " " + piece;
        if (!UseRegex) { output.Add(piece); return; }
        for (var m = Gpt2.Match(piece); m.Success; m = m.NextMatch()) output.Add(m.Value);
    }
}
