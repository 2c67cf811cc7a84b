using System.Globalization;
using System.Text;

namespace MultimodalHub.Tests.Embedding;

/// <summary>
/// The 50 strings the embedding tests run on, in two groups. The package's own tokenizer (SentenceTransformers'
/// UncasedTokenizer) is BERT's only on text it was written for: it splits on spaces and its ASCII punctuation list and
/// lower-cases, but does not strip accents, split CJK ideographs, split on other whitespace or Unicode punctuation, drop
/// format characters, or keep [SEP] when it cuts at 512. <see cref="Faithful"/> avoids those; on <see cref="Departing"/>
/// the package's ids differ from BERT's (the tests check they do), and the reference is the package's tokenizer on the
/// text after BERT's normalisation and splitting, done independently in <see cref="BertPrepared"/>.
/// </summary>
public static class EmbeddingTexts
{
    public static readonly string[] Faithful =
    [
        "Hello, world!",
        "A photo of a RED circle.",
        "don't stop-believing; it's 3.14!",
        "  multiple   spaces ",
        "supercalifragilisticexpialidocious",
        "Email: a.b@c.com (#tag) [x] {y} <z> ~ ^ |",
        "The quick brown fox jumps over the lazy dog.",
        "What is the capital of France?",
        "I can't believe it's not butter!!!",
        "Price: $19.99 (20% off) - limited time.",
        "C++ and C# are programming languages; Python_3 too.",
        "https://example.com/path?query=1&x=2",
        "\"Quoted text,\" she said.",
        "Numbers 1234567890 and 3.14159 and 2,718",
        "ALL CAPS SENTENCE WITH SHOUTING",
        "mIxEd CaSe WoRdS",
        "Transformers produce contextual embeddings for sentences.",
        "a",
        "?",
        "The mitochondria is the powerhouse of the cell.",
        "unbelievably antidisestablishmentarianism hyperparameterization",
        "x = (a + b) * c / d - e",
        "semi;colon:colon,comma.period",
        "She sells sea-shells by the sea-shore.",
        "Tokenization of e-mail addresses like john.doe@example.org works.",
        "A man is playing a guitar on stage.",
        "2024-09-22T10:00:00Z",
        "###heading *** bold ***",
        "It's 5 o'clock somewhere; let's go!",
        "repeat repeat repeat repeat repeat",
        "The children's museum reopened after renovations.",
        "Can you recommend a good restaurant nearby?",
        "GPUs accelerate matrix multiplications dramatically.",
    ];

    public static readonly string[] Departing =
    [
        "The café serves crème brûlée.",
        "naïve Ångström ÉCOLE",
        "Señor Müller visited São Paulo and Zürich.",
        "Ça va? Très bien, merci!",
        "東京は日本の首都",
        "我爱自然语言处理",
        "日本語とEnglishの混在",
        "hello\nworld\ttab",
        "line one\r\nline two\rthree",
        "tabs\tbetween\twords and\u00A0no-break space",
        "soft\u00ADhyphen and zero\u200Bwidth space",
        "«Guillemets» and ¿questions? and ellipsis…",
        "em—dash and ‘curly’ “quotes”",
        "Crème fraîche, jalapeño, piñata, façade.",
        "日本の天気は晴れ。東京タワー！",
    ];

    /// <summary>Long inputs: over 512 word pieces, cut there.</summary>
    public static readonly string[] Long =
    [
        string.Join(" ", Enumerable.Repeat("word", 600)),
        string.Concat(Enumerable.Repeat("The embedding model reads at most five hundred and twelve word pieces, so the rest of this text is cut off. ", 30)),
    ];

    public static IEnumerable<string> All => Faithful.Concat(Departing).Concat(Long);

    /// <summary>
    /// BERT's normaliser and pre-tokenizer written out independently (for the uncased model): drop control and format
    /// characters, whitespace to spaces, spaces around CJK ideographs, NFD without combining marks, lower case, spaces
    /// around punctuation (ASCII punctuation and Unicode P*). The package's tokenizer then only splits on spaces.
    /// </summary>
    public static string BertPrepared(string text)
    {
        var sb = new StringBuilder();
        foreach (var rune in text.Normalize(NormalizationForm.FormD).EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            var c = rune.Value;
            if (c is '\t' or '\n' or '\r' || Rune.IsWhiteSpace(rune)) { sb.Append(' '); continue; }
            if (category is UnicodeCategory.Control or UnicodeCategory.Format || c == 0xFFFD) continue;
            if (category == UnicodeCategory.NonSpacingMark) continue;
            var s = rune.ToString().ToLowerInvariant();
            if (IsCjk(c) || IsPunctuation(rune, category)) sb.Append(' ').Append(s).Append(' ');
            else sb.Append(s);
        }
        return sb.ToString();
    }

    private static bool IsPunctuation(Rune rune, UnicodeCategory category) =>
        rune.Value is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126
        || category is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;

    private static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
