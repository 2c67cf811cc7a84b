using System.Text.Json;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Text;

public sealed class ClipTokenizerTests
{
    private static readonly JsonElement Golden = Goldens.Load("clip-shapes", "text.json");
    private static readonly ITextTokenizer FromTokenizerJson = TokenizerLoader.Load(Repo.Model("clip-shapes"));
    private static readonly ITextTokenizer FromVocabAndMerges = TokenizerLoader.Load(Repo.Model("sd-shapes", "tokenizer"));

    public static TheoryData<string, int> Strings()
    {
        var data = new TheoryData<string, int>();
        foreach (var folder in new[] { "clip-shapes", "sd-shapes/tokenizer" })
            for (int i = 0; i < Golden.GetProperty("strings").GetArrayLength(); i++) data.Add(folder, i);
        return data;
    }

    public static TheoryData<string, int> LabelPrompts()
    {
        var data = new TheoryData<string, int>();
        foreach (var folder in new[] { "clip-shapes", "sd-shapes/tokenizer" })
            for (int i = 0; i < Golden.GetProperty("label_prompts").GetArrayLength(); i++) data.Add(folder, i);
        return data;
    }

    private static ITextTokenizer For(string folder) => folder == "clip-shapes" ? FromTokenizerJson : FromVocabAndMerges;

    [Theory]
    [MemberData(nameof(Strings))]
    public void Golden_string_gives_golden_ids_unpadded_and_padded(string folder, int index)
    {
        var c = Golden.GetProperty("strings")[index];
        var tokenizer = For(folder);
        string text = c.Str("text");

        Assert.Equal(c.GetProperty("input_ids").Ints(), tokenizer.Encode(text));
        Assert.All(c.GetProperty("attention_mask").Ints(), m => Assert.Equal(1, m));

        var padded = tokenizer.EncodePadded(text);
        Assert.Equal(c.GetProperty("input_ids_77").Longs(), padded.InputIds);
        Assert.Equal(c.GetProperty("attention_mask_77").Longs(), padded.AttentionMask);
    }

    [Theory]
    [MemberData(nameof(LabelPrompts))]
    public void Label_prompt_gives_golden_padded_ids(string folder, int index)
    {
        var c = Golden.GetProperty("label_prompts")[index];
        Assert.Equal(c.GetProperty("input_ids_77").Longs(), For(folder).EncodePadded(c.Str("text")).InputIds);
    }

    [Fact]
    public void Model_max_length_comes_from_tokenizer_config()
    {
        Assert.Equal(77, FromTokenizerJson.EncodePadded("red circle").InputIds.Length);
        Assert.Equal(10, FromTokenizerJson.EncodePadded("red circle", 10).InputIds.Length);
    }

    [Fact]
    public void Padded_ids_say_whether_the_text_was_cut()
    {
        var fits = FromTokenizerJson.EncodePadded("red circle", 10);
        Assert.False(fits.Truncated);
        var exact = FromTokenizerJson.Encode("red circle").Count;
        Assert.False(FromTokenizerJson.EncodePadded("red circle", exact).Truncated);
        Assert.True(FromTokenizerJson.EncodePadded("red circle", exact - 1).Truncated);
        var cut = FromTokenizerJson.EncodePadded(string.Join(" ", Enumerable.Repeat("red circle", 20)), 10);
        Assert.True(cut.Truncated);
        Assert.All(cut.AttentionMask, m => Assert.Equal(1, m));
    }

    [Fact]
    public void Long_text_is_truncated_to_bos_75_tokens_eos()
    {
        string text = string.Join(' ', Enumerable.Repeat("a red circle and a blue square", 30));
        var full = FromTokenizerJson.Encode(text);
        Assert.True(full.Count > 77);

        var padded = FromTokenizerJson.EncodePadded(text);
        int bos = FromTokenizerJson.TokenToId("<|startoftext|>")!.Value, eos = FromTokenizerJson.TokenToId("<|endoftext|>")!.Value;
        Assert.Equal(77, padded.InputIds.Length);
        Assert.Equal(bos, padded.InputIds[0]);
        Assert.Equal(eos, padded.InputIds[76]);
        Assert.Equal(full.Skip(1).Take(75).Select(i => (long)i), padded.InputIds.Skip(1).Take(75));
        Assert.All(padded.AttentionMask, m => Assert.Equal(1, m));
    }

    [Fact]
    public void Special_tokens_and_vocab_size_are_read_from_the_files()
    {
        Assert.Equal(1388, FromTokenizerJson.TokenToId("<|startoftext|>"));
        Assert.Equal(1389, FromTokenizerJson.TokenToId("<|endoftext|>"));
        Assert.Equal(1390, FromTokenizerJson.VocabSize);
        Assert.Equal(1390, FromVocabAndMerges.VocabSize);
        Assert.Contains(1389, FromTokenizerJson.SpecialIds);
    }

    [Fact]
    public void Decode_turns_end_of_word_markers_into_spaces()
    {
        var ids = FromTokenizerJson.Encode("a photo of a café 🙂");
        Assert.Equal("a photo of a café 🙂", FromTokenizerJson.Decode(ids));
        Assert.StartsWith("<|startoftext|>", FromTokenizerJson.Decode(ids, skipSpecialTokens: false));
    }
}
