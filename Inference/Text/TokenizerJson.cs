using System.Text.Json;
using System.Text.RegularExpressions;

namespace MultimodalHub.Inference.Text;

/// <summary>An added token (tokenizer.json "added_tokens" / tokenizer_config.json "added_tokens_decoder"), matched in raw text before BPE.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool LStrip = false, bool RStrip = false, bool SingleWord = false);

/// <summary>Everything the tokenizer needs, read from the model's own files.</summary>
internal sealed record TokenizerSpec(
    IReadOnlyDictionary<string, int> Vocab,
    IReadOnlyList<string> Merges,
    IReadOnlyList<AddedToken> AddedTokens,
    TextNormalizer? Normalizer,
    PreTokenizerStep? PreTokenizer,
    bool ByteLevel,
    string EndOfWordSuffix,
    string ContinuingSubwordPrefix,
    string? UnknownToken,
    bool IgnoreMerges,
    IReadOnlyList<int> PrefixIds,
    IReadOnlyList<int> SuffixIds,
    int? ModelMaxLength,
    string? EosToken,
    string? PadToken);

/// <summary>Reads tokenizer.json (+ tokenizer_config.json), or the slow files vocab.json + merges.txt.</summary>
internal static class TokenizerSpecReader
{
    // The CLIP tokenizer's pipeline as CLIPTokenizerFast writes it, used for a folder with only vocab.json + merges.txt.
    private const string ClipPattern = @"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";
    private const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static TokenizerSpec Read(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Tokenizer folder not found: {directory}");
        var config = Runtime.ModelFiles.ReadJson(Path.Combine(directory, "tokenizer_config.json"));
        var specialMap = Runtime.ModelFiles.ReadJson(Path.Combine(directory, "special_tokens_map.json"));
        string tokenizerJson = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(tokenizerJson)) return FromTokenizerJson(tokenizerJson, config, specialMap);
        string vocab = Path.Combine(directory, "vocab.json"), merges = Path.Combine(directory, "merges.txt");
        if (File.Exists(vocab) && File.Exists(merges)) return FromSlowFiles(vocab, merges, config, specialMap);
        throw new FileNotFoundException($"No tokenizer in {directory}: expected tokenizer.json, or vocab.json + merges.txt.");
    }

    private static TokenizerSpec FromTokenizerJson(string path, JsonElement? config, JsonElement? specialMap)
    {
        var root = Runtime.ModelFiles.ReadJson(path)!.Value;
        var model = root.GetProperty("model");
        string modelType = model.TryGetProperty("type", out var t) ? t.GetString() ?? "BPE" : "BPE";
        if (modelType != "BPE")
            throw new NotSupportedException($"{path}: tokenizer model '{modelType}' is not supported (only BPE: byte-level GPT-2/Qwen2/Llama-3 style, and CLIP).");
        if (TextNormalizer.Bool(model, "byte_fallback", false))
            throw new NotSupportedException($"{path}: BPE with byte_fallback (SentencePiece style) is not supported.");

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Array ? m[0].GetString() + " " + m[1].GetString() : m.GetString()!)
            .ToList();

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedJson) && addedJson.ValueKind == JsonValueKind.Array)
            foreach (var a in addedJson.EnumerateArray())
                added.Add(new AddedToken(a.GetProperty("id").GetInt32(), a.GetProperty("content").GetString()!,
                    TextNormalizer.Bool(a, "special", false), TextNormalizer.Bool(a, "lstrip", false),
                    TextNormalizer.Bool(a, "rstrip", false), TextNormalizer.Bool(a, "single_word", false)));

        var normalizer = TextNormalizer.FromJson(root.TryGetProperty("normalizer", out var n) ? n : default);
        var pre = PreTokenizerStep.FromJson(root.TryGetProperty("pre_tokenizer", out var pt) ? pt : default);
        var (prefix, suffix) = PostProcessor(root.TryGetProperty("post_processor", out var pp) ? pp : default, vocab, added);
        var maxLength = ModelMaxLength(config);
        // bos_token is not used here (the post-processor says what goes in front) but is still read, so that a malformed
        // one ({"content": <not a string>}) fails loading as it always has.
        _ = TokenName(config, specialMap, "bos_token");

        return new TokenizerSpec(vocab, merges, added, normalizer, pre,
            ByteLevel: pre?.IsByteLevel ?? false,
            EndOfWordSuffix: Str(model, "end_of_word_suffix") ?? "",
            ContinuingSubwordPrefix: Str(model, "continuing_subword_prefix") ?? "",
            UnknownToken: Str(model, "unk_token"),
            IgnoreMerges: TextNormalizer.Bool(model, "ignore_merges", false),
            prefix, suffix,
            maxLength,
            TokenName(config, specialMap, "eos_token"), TokenName(config, specialMap, "pad_token"));
    }

    private static TokenizerSpec FromSlowFiles(string vocabPath, string mergesPath, JsonElement? config, JsonElement? specialMap)
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabPath))!;
        var merges = File.ReadLines(mergesPath).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
        string tokenizerClass = config is { } c && c.TryGetProperty("tokenizer_class", out var tc) ? tc.GetString() ?? "" : "";
        bool clip = tokenizerClass.StartsWith("CLIPTokenizer", StringComparison.Ordinal) || merges.Any(m => m.EndsWith("</w>", StringComparison.Ordinal));
        string? bos = TokenName(config, specialMap, "bos_token"), eos = TokenName(config, specialMap, "eos_token"), pad = TokenName(config, specialMap, "pad_token");

        var added = new List<AddedToken>();
        if (config is { } cfg && cfg.TryGetProperty("added_tokens_decoder", out var decoder))
            foreach (var p in decoder.EnumerateObject())
                added.Add(new AddedToken(int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p.Value.GetProperty("content").GetString()!,
                    TextNormalizer.Bool(p.Value, "special", true), TextNormalizer.Bool(p.Value, "lstrip", false),
                    TextNormalizer.Bool(p.Value, "rstrip", false), TextNormalizer.Bool(p.Value, "single_word", false)));
        foreach (var name in new[] { bos, eos, pad })
            if (name is not null && vocab.TryGetValue(name, out int id) && added.All(a => a.Content != name))
                added.Add(new AddedToken(id, name, Special: true));

        int? IdOf(string? token) => token is null ? null : vocab.TryGetValue(token, out int i) ? i : added.FirstOrDefault(a => a.Content == token)?.Id;

        if (clip)
        {
            // CLIPTokenizer: whitespace clean-up + lowercase, CLIP regex, byte-level, "</w>", [bos] text [eos].
            var normalizer = new SequenceNormalizer([
                new UnicodeNormalizer(System.Text.NormalizationForm.FormC),
                new ReplaceNormalizer(new Regex(@"\s+", RegexOptions.Compiled), " "),
                new LowercaseNormalizer()]);
            var pre = new SequencePreTokenizer([
                new SplitPreTokenizer(new Regex(ClipPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant), SplitBehavior.Removed, Invert: true),
                new ByteLevelPreTokenizer(false, false)]);
            return new TokenizerSpec(vocab, merges, added, normalizer, pre, true, "</w>", "", TokenName(config, specialMap, "unk_token"), false,
                IdOf(bos) is { } b ? [b] : [], IdOf(eos) is { } e ? [e] : [], ModelMaxLength(config), eos, pad);
        }

        // GPT-2 family (GPT2Tokenizer, Qwen2Tokenizer…): byte-level with the family's regex; bos only if add_bos_token.
        bool qwen = tokenizerClass.StartsWith("Qwen2", StringComparison.Ordinal);
        var split = qwen
            ? new SequencePreTokenizer([new SplitPreTokenizer(new Regex(Qwen2Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant), SplitBehavior.Isolated, false), new ByteLevelPreTokenizer(false, false)])
            : (PreTokenizerStep)new ByteLevelPreTokenizer(config is { } c2 && TextNormalizer.Bool(c2, "add_prefix_space", false), true);
        bool addBos = config is { } c3 && TextNormalizer.Bool(c3, "add_bos_token", false);
        return new TokenizerSpec(vocab, merges, added, qwen ? new UnicodeNormalizer(System.Text.NormalizationForm.FormC) : null, split, true, "", "", null, false,
            addBos && IdOf(bos) is { } bb ? [bb] : [], [], ModelMaxLength(config), eos, pad);
    }

    /// <summary>Ids the post-processor puts around a single sequence: RobertaProcessing/BertProcessing (cls … sep), TemplateProcessing, ByteLevel (none), Sequence.</summary>
    private static (List<int> Prefix, List<int> Suffix) PostProcessor(JsonElement e, Dictionary<string, int> vocab, List<AddedToken> added)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        if (e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return (prefix, suffix);
        string type = e.GetProperty("type").GetString() ?? "";
        switch (type)
        {
            case "ByteLevel":
                break;
            case "RobertaProcessing":
            case "BertProcessing":
                prefix.Add(e.GetProperty("cls")[1].GetInt32());
                suffix.Add(e.GetProperty("sep")[1].GetInt32());
                break;
            case "TemplateProcessing":
                bool afterSequence = false;
                var specials = e.TryGetProperty("special_tokens", out var st) ? st : default;
                foreach (var item in e.GetProperty("single").EnumerateArray())
                {
                    if (item.TryGetProperty("Sequence", out _)) { afterSequence = true; continue; }
                    string id = item.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                    IEnumerable<int> ids = specials.ValueKind == JsonValueKind.Object && specials.TryGetProperty(id, out var spec)
                        ? spec.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())
                        : [vocab.TryGetValue(id, out int v) ? v : added.First(a => a.Content == id).Id];
                    (afterSequence ? suffix : prefix).AddRange(ids);
                }
                break;
            case "Sequence":
                foreach (var p in e.GetProperty("processors").EnumerateArray())
                {
                    var (pre, suf) = PostProcessor(p, vocab, added);
                    prefix.AddRange(pre);
                    suffix.InsertRange(0, suf);
                }
                break;
            default:
                throw new NotSupportedException($"tokenizer.json post_processor '{type}' is not supported (supported: ByteLevel, RobertaProcessing, BertProcessing, TemplateProcessing, Sequence).");
        }
        return (prefix, suffix);
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>A special token's text from tokenizer_config.json or special_tokens_map.json (a string or {"content": ...}).</summary>
    internal static string? TokenName(JsonElement? config, JsonElement? specialMap, string name)
    {
        foreach (var source in new[] { config, specialMap })
        {
            if (source is not { } s || !s.TryGetProperty(name, out var v)) continue;
            if (v.ValueKind == JsonValueKind.String) return v.GetString();
            if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c)) return c.GetString();
        }
        return null;
    }

    private static int? ModelMaxLength(JsonElement? config) =>
        config is { } c && c.TryGetProperty("model_max_length", out var m) && m.ValueKind == JsonValueKind.Number && m.TryGetInt32(out int v) ? v : null;
}
