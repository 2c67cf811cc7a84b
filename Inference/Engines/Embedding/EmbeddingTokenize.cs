using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>One text as the encoder takes it: [CLS] + word pieces + [SEP], at most the model's length.</summary>
/// <param name="Truncated">The text had more word pieces than fit; the ids hold its beginning (and the [SEP]).</param>
public sealed record EncodedText(int[] Ids, bool Truncated);

/// <summary>
/// BERT's tokenizer (BertNormalizer → BertPreTokenizer → WordPiece → [CLS] … [SEP]) read from a model's own files:
/// tokenizer.json with a WordPiece model, or BERT's vocab.txt with tokenizer_config.json's do_lower_case /
/// tokenize_chinese_chars / strip_accents. Normalisation and WordPiece are Microsoft.ML.Tokenizers' BertTokenizer; the
/// pre-tokenizer is Hugging Face's BertPreTokenizer rule (split on whitespace, isolate every punctuation character),
/// because the library's own keeps only \w+ and \p{P} and silently drops symbols (&lt; &gt; ~ ^ | € emoji) that BERT keeps.
/// Thread-safe.
/// </summary>
public sealed class WordPieceText
{
    // Hugging Face tokenizers' BertPreTokenizer: whitespace splits and is dropped; a punctuation character (Unicode P*, or any
    // ASCII character in !-/ :-@ [-` {-~, which BERT counts as punctuation although some are symbols) is a word of its own.
    private const string Punctuation = @"\p{P}!-/:-@\[-`{-~";
    private static readonly Regex BertWords = new($"[^\\s{Punctuation}]+|[{Punctuation}]", RegexOptions.Compiled | RegexOptions.CultureInvariant);

    private readonly BertTokenizer _tokenizer;

    private WordPieceText(BertTokenizer tokenizer) => _tokenizer = tokenizer;

    public int ClsId => _tokenizer.ClassificationTokenId;

    public int SepId => _tokenizer.SeparatorTokenId;

    public int PadId => _tokenizer.PaddingTokenId;

    /// <summary>Whether the tokenizer lower-cases (uncased BERT).</summary>
    public bool LowerCase => _tokenizer.LowerCaseBeforeTokenization;

    /// <summary>Ids for a text with [CLS] and [SEP], cut to <paramref name="maxLength"/> ids (the [SEP] kept, as transformers truncates).</summary>
    public EncodedText Encode(string text, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        var ids = _tokenizer.EncodeToIds(text, maxLength, addSpecialTokens: true, out _, out _);
        var truncated = ids.Count >= maxLength && _tokenizer.CountTokens(text) > maxLength;
        return new EncodedText([.. ids], truncated);
    }

    /// <summary>The word pieces of ids (for tests and diagnostics).</summary>
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids, skipSpecialTokens: false);

    /// <summary>Load the tokenizer of a model folder: tokenizer.json (WordPiece) if present, else vocab.txt.</summary>
    /// <exception cref="NotSupportedException">The tokenizer.json is not a BERT WordPiece tokenizer (named in the message).</exception>
    public static WordPieceText Load(string directory)
    {
        var tokenizerConfig = ModelFiles.ReadJson(Path.Combine(directory, "tokenizer_config.json"));
        var json = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(json)) return FromTokenizerJson(json, tokenizerConfig);
        var vocab = Path.Combine(directory, "vocab.txt");
        if (!File.Exists(vocab)) throw new FileNotFoundException($"No tokenizer in {directory}: expected tokenizer.json (WordPiece) or vocab.txt.", vocab);
        var lower = Bool(tokenizerConfig, "do_lower_case") ?? true; // BertTokenizer's default
        using var stream = File.OpenRead(vocab);
        return Create(stream, new BertSettings(lower, Bool(tokenizerConfig, "tokenize_chinese_chars") ?? true,
            Bool(tokenizerConfig, "strip_accents") ?? lower, SpecialTokens(tokenizerConfig), 100));
    }

    /// <summary>
    /// Whether a BERT vocabulary is uncased: none of its tokens has an ASCII capital (bert-base-uncased's has none, -cased's
    /// has thousands; symbols such as ℝ count as capitals in Unicode and are in both).
    /// </summary>
    public static bool LooksUncased(IEnumerable<string> vocabulary) => !vocabulary.Any(t => !IsSpecial(t) && t.Any(char.IsAsciiLetterUpper));

    private static bool IsSpecial(string token) => token.Length > 2 && token[0] == '[' && token[^1] == ']';

    private static WordPieceText FromTokenizerJson(string path, JsonElement? tokenizerConfig)
    {
        var root = ModelFiles.ReadJson(path)!.Value;
        var model = root.GetProperty("model");
        var type = Str(model, "type");
        if (type != "WordPiece")
            throw new NotSupportedException($"{path}: tokenizer model '{type}' is not supported by the embedding engine (only BERT's WordPiece).");
        if (Str(model, "continuing_subword_prefix") is { } prefix && prefix != "##")
            throw new NotSupportedException($"{path}: WordPiece continuing_subword_prefix '{prefix}' is not supported (only \"##\").");
        var normalizer = root.TryGetProperty("normalizer", out var n) ? n : default;
        if (normalizer.ValueKind == JsonValueKind.Object && Str(normalizer, "type") != "BertNormalizer")
            throw new NotSupportedException($"{path}: normalizer '{Str(normalizer, "type")}' is not supported (only BertNormalizer).");
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object && Str(pre, "type") != "BertPreTokenizer")
            throw new NotSupportedException($"{path}: pre_tokenizer '{Str(pre, "type")}' is not supported (only BertPreTokenizer).");

        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => (Token: p.Name, Id: p.Value.GetInt32())).OrderBy(p => p.Id).ToList();
        for (var i = 0; i < vocab.Count; i++)
        {
            if (vocab[i].Id != i) throw new InvalidDataException($"{path}: WordPiece ids are not 0..{vocab.Count - 1} (id {vocab[i].Id} at position {i}).");
        }
        var hasNormalizer = normalizer.ValueKind == JsonValueKind.Object;
        var lower = hasNormalizer && (Bool(normalizer, "lowercase") ?? true);
        var settings = new BertSettings(
            lower,
            hasNormalizer && (Bool(normalizer, "handle_chinese_chars") ?? true),
            hasNormalizer && (Bool(normalizer, "strip_accents") ?? lower), // null: follows lowercase, as in tokenizers
            SpecialTokens(tokenizerConfig) with { Unknown = Str(model, "unk_token") ?? "[UNK]" },
            model.TryGetProperty("max_input_chars_per_word", out var m) && m.TryGetInt32(out var max) ? max : 100);
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', vocab.Select(v => v.Token)) + "\n"));
        return Create(stream, settings);
    }

    private static WordPieceText Create(Stream vocab, BertSettings s)
    {
        var options = new BertOptions
        {
            LowerCaseBeforeTokenization = s.LowerCase,
            IndividuallyTokenizeCjk = s.ChineseChars,
            RemoveNonSpacingMarks = s.StripAccents,
            ApplyBasicTokenization = true,
            // Special tokens written in the text ("[SEP]") stay text: the normaliser runs before any split, so they could only be
            // matched after lower-casing, where "[sep]" and "[SEP]" look alike; splitting them off would let text inject them.
            SplitOnSpecialTokens = false,
            PreTokenizer = new RegexPreTokenizer(BertWords, null),
            UnknownToken = s.Tokens.Unknown,
            ClassificationToken = s.Tokens.Classification,
            SeparatorToken = s.Tokens.Separator,
            PaddingToken = s.Tokens.Padding,
            MaskingToken = s.Tokens.Masking,
            MaxInputCharsPerWord = s.MaxInputCharsPerWord,
        };
        var bytes = ReadAll(vocab);
        // The library's BertNormalizer (lower-case, accents, CJK spacing) after BERT's clean_text, which it does only in part:
        // it keeps format characters (soft hyphen, zero-width space: category Cf) and joins the words around "\r\n".
        var plain = BertTokenizer.Create(new MemoryStream(bytes), options);
        options.Normalizer = new CleanTextNormalizer(plain.Normalizer!);
        return new WordPieceText(BertTokenizer.Create(new MemoryStream(bytes), options));
    }

    private static byte[] ReadAll(Stream s)
    {
        using var copy = new MemoryStream();
        s.CopyTo(copy);
        return copy.ToArray();
    }

    private static BertSpecialTokens SpecialTokens(JsonElement? config) => new(
        TokenName(config, "unk_token") ?? "[UNK]", TokenName(config, "cls_token") ?? "[CLS]", TokenName(config, "sep_token") ?? "[SEP]",
        TokenName(config, "pad_token") ?? "[PAD]", TokenName(config, "mask_token") ?? "[MASK]");

    private static string? TokenName(JsonElement? config, string name) => config is { } c && c.TryGetProperty(name, out var v)
        ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ValueKind == JsonValueKind.Object ? Str(v, "content") : null
        : null;

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool? Bool(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    private sealed record BertSpecialTokens(string Unknown, string Classification, string Separator, string Padding, string Masking);

    private sealed record BertSettings(bool LowerCase, bool ChineseChars, bool StripAccents, BertSpecialTokens Tokens, int MaxInputCharsPerWord);

    /// <summary>BERT's clean_text (whitespace to spaces; control and format characters and U+FFFD removed), then the library's BERT normaliser.</summary>
    private sealed class CleanTextNormalizer(Normalizer inner) : Normalizer
    {
        public override string Normalize(string original) => inner.Normalize(Clean(original));

        public override string Normalize(ReadOnlySpan<char> original) => inner.Normalize(Clean(original.ToString()));

        private static string Clean(string text)
        {
            if (!text.AsSpan().ContainsAnyExceptInRange(' ', '~')) return text;
            var sb = new StringBuilder(text.Length);
            foreach (var rune in text.EnumerateRunes())
            {
                if (Rune.IsWhiteSpace(rune)) sb.Append(' '); // \t \r \n and Unicode spaces: word breaks, as in clean_text
                else if (rune.Value == 0xFFFD || Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.Control) continue;
                else sb.Append(rune.ToString());
            }
            return sb.ToString();
        }
    }
}
