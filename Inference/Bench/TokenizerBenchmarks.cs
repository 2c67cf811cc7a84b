using System.Text;
using BenchmarkDotNet.Attributes;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Bench;

/// <summary>
/// Tokenizer throughput on ~100 KB of English text (tokens/s = TokensPerOp / mean time). A fresh tokenizer per
/// iteration is not used: the word cache is part of the real behaviour, so the figure is warm-cache throughput.
/// Run: dotnet run -c Release --project Inference/Bench -- --filter '*Tokenizer*' --job short
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private ITextTokenizer _clip = null!;
    private ITextTokenizer _byteLevel = null!;
    private string _text = "";

    [GlobalSetup]
    public void Setup()
    {
        string models = BenchModels.Root;
        _clip = TokenizerLoader.Load(Path.Combine(models, "clip-shapes"));
        _byteLevel = TokenizerLoader.Load(Path.Combine(models, "shapes-chat"));
        _text = EnglishText(100_000);
        Console.WriteLine($"// text: {_text.Length:N0} chars; CLIP tokens: {_clip.Encode(_text).Count:N0}; byte-level tokens: {_byteLevel.Encode(_text).Count:N0}");
    }

    [Benchmark]
    public int ClipBpe() => _clip.Encode(_text).Count;

    [Benchmark]
    public int ByteLevelBpe() => _byteLevel.Encode(_text).Count;

    [Benchmark]
    public int ByteLevelDecode() => _byteLevel.Decode(_byteLevel.Encode(_text)).Length;

    /// <summary>Deterministic English prose (varied words, punctuation, numbers) of about the given length.</summary>
    internal static string EnglishText(int chars)
    {
        string[] sentences =
        [
            "The quick brown fox jumps over the lazy dog near the river bank.",
            "In 1969, astronauts landed on the Moon and returned safely to Earth.",
            "She couldn't believe how quickly the seasons changed that year!",
            "Researchers measured 3.14 units of growth across twelve experimental plots.",
            "A large red circle sits in the center of a white background, next to a small blue square.",
            "Why do programmers prefer dark mode? Because light attracts bugs.",
            "The committee's decision, announced on Tuesday, surprised almost everyone involved.",
            "Photosynthesis converts sunlight, water and carbon dioxide into glucose and oxygen.",
            "He walked through the old market, buying apples, bread, cheese and a newspaper.",
            "Internationalization and localization are often abbreviated as i18n and l10n.",
        ];
        var sb = new StringBuilder(chars + 200);
        var rng = new Random(42);
        while (sb.Length < chars)
        {
            sb.Append(sentences[rng.Next(sentences.Length)]).Append(rng.Next(8) == 0 ? "\n\n" : " ");
        }
        return sb.ToString();
    }
}

/// <summary>The same encodes on freshly loaded tokenizers (empty word caches): first-sight throughput.</summary>
[MemoryDiagnoser]
public class TokenizerColdBenchmarks
{
    private string _models = "";
    private string _text = "";
    private ITextTokenizer _clip = null!;
    private ITextTokenizer _byteLevel = null!;

    [GlobalSetup]
    public void Setup()
    {
        _models = BenchModels.Root;
        _text = TokenizerBenchmarks.EnglishText(100_000);
    }

    [IterationSetup]
    public void FreshTokenizers()
    {
        _clip = TokenizerLoader.Load(Path.Combine(_models, "clip-shapes"));
        _byteLevel = TokenizerLoader.Load(Path.Combine(_models, "shapes-chat"));
    }

    [Benchmark]
    public int ClipBpeCold() => _clip.Encode(_text).Count;

    [Benchmark]
    public int ByteLevelBpeCold() => _byteLevel.Encode(_text).Count;
}
