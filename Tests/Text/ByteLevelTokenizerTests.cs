using System.Text.Json;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Text;

public sealed class ByteLevelTokenizerTests
{
    private static readonly string[] Models = ["shapes-chat", "shapes-vlm"];
    internal static readonly Dictionary<string, ITextTokenizer> Tokenizers = Models.ToDictionary(m => m, m => TokenizerLoader.Load(Repo.Model(m)));
    private static readonly Dictionary<string, JsonElement> Cases = Models.ToDictionary(m => m, m => Goldens.Load(m, "tokenizer_cases.json").GetProperty("cases"));

    public static TheoryData<string, int> TokenizerCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var m in Models)
            for (int i = 0; i < Cases[m].GetArrayLength(); i++) data.Add(m, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(TokenizerCases))]
    public void Golden_case_encodes_and_decodes_as_the_reference(string model, int index)
    {
        var c = Cases[model][index];
        var tokenizer = Tokenizers[model];
        var ids = c.GetProperty("ids").Ints();

        Assert.Equal(ids, tokenizer.Encode(c.Str("text"), addSpecialTokens: false));
        Assert.Equal(ids, tokenizer.Encode(c.Str("text"))); // Qwen2: the post-processor adds nothing
        Assert.Equal(c.Str("decoded"), tokenizer.Decode(ids, skipSpecialTokens: false));
        Assert.Equal(c.Str("decoded_skip_special"), tokenizer.Decode(ids, skipSpecialTokens: true));
        var bpe = Assert.IsType<BpeTextTokenizer>(tokenizer);
        Assert.Equal(c.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()), ids.Select(bpe.IdToToken));
    }

    [Fact]
    public void Conversation_prompt_ids_are_the_encoded_prompt()
    {
        var conversations = Goldens.Load("shapes-chat", "conversations.json");
        var list = conversations.ValueKind == JsonValueKind.Array ? conversations : conversations.GetProperty("conversations");
        int n = 0;
        foreach (var c in list.EnumerateArray())
        {
            Assert.Equal(c.GetProperty("prompt_ids").Ints(), Tokenizers["shapes-chat"].Encode(c.Str("prompt")));
            n++;
        }
        Assert.True(n >= 6);
    }

    [Fact]
    public void Vlm_case_prompt_ids_are_the_encoded_prompt()
    {
        var cases = Goldens.Load("shapes-vlm", "cases.json");
        int n = 0;
        foreach (var turn in VlmTurns(cases))
        {
            Assert.Equal(turn.GetProperty("ids").Ints(), Tokenizers["shapes-vlm"].Encode(turn.Str("prompt")));
            n++;
        }
        Assert.True(n >= 7);
    }

    internal static IEnumerable<JsonElement> VlmTurns(JsonElement cases)
    {
        var list = cases.ValueKind == JsonValueKind.Array ? cases : cases.GetProperty("cases");
        foreach (var c in list.EnumerateArray())
        {
            if (c.TryGetProperty("turns", out var turns)) foreach (var t in turns.EnumerateArray()) yield return t;
            else yield return c;
        }
    }

    [Fact]
    public void Special_tokens_vocab_size_and_eos_come_from_the_files()
    {
        var vlm = Tokenizers["shapes-vlm"];
        Assert.Equal(1286, vlm.VocabSize);
        Assert.Equal(1285, vlm.TokenToId("<image>"));
        Assert.Equal(1284, vlm.TokenToId("<|im_end|>"));
        Assert.Equal(new HashSet<int> { 1282, 1283, 1284, 1285 }, vlm.SpecialIds.ToHashSet());
        Assert.Equal(1285, Tokenizers["shapes-chat"].VocabSize);
        Assert.Null(vlm.TokenToId("<not a token>"));
    }

    [Fact]
    public void Slow_files_give_the_same_ids_as_tokenizer_json()
    {
        // A copy of the folder without tokenizer.json: vocab.json + merges.txt + tokenizer_config.json (Qwen2Tokenizer).
        string dir = Directory.CreateTempSubdirectory("slowtok").FullName;
        try
        {
            foreach (var f in new[] { "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json" })
                File.Copy(Repo.Model("shapes-vlm", f), Path.Combine(dir, f));
            var slow = TokenizerLoader.Load(dir);
            foreach (var c in Cases["shapes-vlm"].EnumerateArray())
                Assert.Equal(c.GetProperty("ids").Ints(), slow.Encode(c.Str("text")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Missing_tokenizer_files_fail_clearly()
    {
        string dir = Directory.CreateTempSubdirectory("notok").FullName;
        try
        {
            var e = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.Load(dir));
            Assert.Contains("tokenizer.json", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
