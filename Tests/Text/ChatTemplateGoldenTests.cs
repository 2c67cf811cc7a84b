using System.Text.Json;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Text;

public sealed class ChatTemplateGoldenTests
{
    private static readonly JsonElement Conversations = Goldens.Load("shapes-chat", "conversations.json").GetProperty("conversations");
    private static readonly List<JsonElement> VlmTurns = [.. ByteLevelTokenizerTests.VlmTurns(Goldens.Load("shapes-vlm", "cases.json"))];
    private static readonly ChatTemplate ChatModelTemplate = ChatTemplate.Load(Repo.Model("shapes-chat"));
    private static readonly ChatTemplate VlmModelTemplate = ChatTemplate.Load(Repo.Model("shapes-vlm"));

    public static TheoryData<int> ConversationIndexes() => [.. Enumerable.Range(0, Conversations.GetArrayLength())];
    public static TheoryData<int> VlmTurnIndexes() => [.. Enumerable.Range(0, VlmTurns.Count)];

    internal static List<ChatMessage> Messages(JsonElement messages) =>
    [
        .. messages.EnumerateArray().Select(m =>
        {
            var content = m.GetProperty("content");
            if (content.ValueKind == JsonValueKind.String) return new ChatMessage(m.Str("role"), content.GetString()!);
            var parts = content.EnumerateArray()
                .Select(p => p.Str("type") == "text" ? ChatPart.OfText(p.Str("text")) : new ChatPart(p.Str("type")))
                .ToList();
            return new ChatMessage(m.Str("role"), "", parts);
        }),
    ];

    [Theory]
    [MemberData(nameof(ConversationIndexes))]
    public void Chat_conversation_renders_the_golden_prompt_and_ids(int index)
    {
        var c = Conversations[index];
        string prompt = ChatModelTemplate.Render(Messages(c.GetProperty("messages")), c.GetProperty("add_generation_prompt").GetBoolean());
        Assert.Equal(c.Str("prompt"), prompt);
        Assert.Equal(c.GetProperty("prompt_ids").Ints(), ByteLevelTokenizerTests.Tokenizers["shapes-chat"].Encode(prompt));
    }

    [Theory]
    [MemberData(nameof(VlmTurnIndexes))]
    public void Vlm_turn_renders_the_golden_prompt_with_the_image_token(int index)
    {
        var turn = VlmTurns[index];
        string prompt = VlmModelTemplate.Render(Messages(turn.GetProperty("messages")), addGenerationPrompt: true);
        Assert.Equal(turn.Str("prompt"), prompt);
        Assert.Equal(turn.GetProperty("ids").Ints(), ByteLevelTokenizerTests.Tokenizers["shapes-vlm"].Encode(prompt));
    }

    [Fact]
    public void Chat_template_inserts_the_default_system_prompt_and_omits_the_generation_prompt_on_request()
    {
        var template = ChatTemplate.Load(Repo.Model("shapes-chat"));
        string prompt = template.Render([new("user", "hello"), new("assistant", "hi")], addGenerationPrompt: false);
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\nhi<|im_end|>\n", prompt);
    }

    [Fact]
    public void Template_from_tokenizer_config_equals_chat_template_jinja()
    {
        foreach (var model in new[] { "shapes-chat", "shapes-vlm" })
        {
            var config = JsonDocument.Parse(File.ReadAllText(Repo.Model(model, "tokenizer_config.json"))).RootElement;
            Assert.Equal(config.Str("chat_template"), ChatTemplate.Load(Repo.Model(model)).Source);
        }
    }

    [Fact]
    public void Text_only_template_rejects_image_parts_with_a_clear_error()
    {
        var template = ChatTemplate.Load(Repo.Model("shapes-chat"));
        var e = Assert.Throws<MultimodalHub.Inference.Runtime.InvalidRequestException>(() =>
            template.Render([new ChatMessage("user", "", [ChatPart.Image(), ChatPart.OfText("what is it?")])]));
        Assert.Equal("messages", e.Field);
    }

    [Fact]
    public void Folder_without_a_template_fails_clearly()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ChatTemplate.Load(Repo.Model("clip-shapes")));
        Assert.Contains("chat_template", e.Message);
    }
}
