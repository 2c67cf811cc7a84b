using System.Text.Json.Nodes;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Text;

/// <summary>tokenizer.json layouts of other model families (Llama 3: TemplateProcessing bos + ignore_merges; GPT-2: ByteLevel with its own regex), built from shapes-chat's vocabulary.</summary>
public sealed class TokenizerJsonVariantsTests
{
    private static ITextTokenizer LoadVariant(Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(Repo.Model("shapes-chat", "tokenizer.json")))!.AsObject();
        edit(json);
        string dir = Directory.CreateTempSubdirectory("tokvariant").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            return TokenizerLoader.Load(dir);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Llama3_layout_adds_bos_through_template_processing()
    {
        var tokenizer = LoadVariant(json =>
        {
            json["added_tokens"]!.AsArray().Add(JsonNode.Parse("""{"id": 1285, "content": "<|begin_of_text|>", "special": true, "lstrip": false, "rstrip": false, "normalized": false, "single_word": false}"""));
            json["normalizer"] = null;
            json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] =
                @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
            json["post_processor"] = JsonNode.Parse("""
                {"type": "Sequence", "processors": [
                  {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
                  {"type": "TemplateProcessing",
                   "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                   "pair": [], "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [1285], "tokens": ["<|begin_of_text|>"]}}}]}
                """);
            json["model"]!["ignore_merges"] = true;
        });

        Assert.Equal([1285, 494, 1223], tokenizer.Encode("hello world"));
        Assert.Equal([494, 1223], tokenizer.Encode("hello world", addSpecialTokens: false));
        Assert.Equal("hello world", tokenizer.Decode(tokenizer.Encode("hello world")));
        Assert.Equal("<|begin_of_text|>hello world", tokenizer.Decode(tokenizer.Encode("hello world"), skipSpecialTokens: false));
    }

    [Fact]
    public void Gpt2_layout_splits_with_the_byte_level_regex()
    {
        var tokenizer = LoadVariant(json =>
        {
            json["normalizer"] = null;
            json["pre_tokenizer"] = JsonNode.Parse("""{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}""");
        });
        Assert.Equal([301, 313, 293, 269, 321, 63], tokenizer.Encode("what color is the square?"));
        Assert.Equal([1283, 282, 10, 336, 1284, 10], tokenizer.Encode("<|im_start|>user\nhi<|im_end|>\n"));
    }

    [Fact]
    public void Unsupported_components_are_named_in_the_error()
    {
        var e = Assert.Throws<NotSupportedException>(() => LoadVariant(json =>
            json["pre_tokenizer"] = JsonNode.Parse("""{"type": "Metaspace", "replacement": "▁"}""")));
        Assert.Contains("Metaspace", e.Message);
    }
}
