namespace MultimodalHub.Inference.Text;

/// <summary>One part of a message: text, or an image placeholder (rendered as the model's image token).</summary>
public sealed record ChatPart(string Type, string? Text = null)
{
    public static ChatPart OfText(string text) => new("text", text);
    public static ChatPart Image() => new("image");
}

/// <summary>A chat message; Content is plain text unless Parts is set (multimodal content).</summary>
public sealed record ChatMessage(string Role, string Content, IReadOnlyList<ChatPart>? Parts = null);

/// <summary>The model's own chat_template (tokenizer_config.json or chat_template.jinja), rendered.</summary>
public sealed class ChatTemplate
{
    public static ChatTemplate Load(string modelDirectory) => throw new NotImplementedException("issue #4");

    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true) => throw new NotImplementedException("issue #4");
}
