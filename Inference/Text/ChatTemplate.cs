using System.Text.Json;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text.Jinja;

namespace MultimodalHub.Inference.Text;

/// <summary>One part of a message: text, or an image placeholder (rendered as the model's image token).</summary>
public sealed record ChatPart(string Type, string? Text = null)
{
    public static ChatPart OfText(string text) => new("text", text);
    public static ChatPart Image() => new("image");
}

/// <summary>A chat message; Content is plain text unless Parts is set (multimodal content).</summary>
public sealed record ChatMessage(string Role, string Content, IReadOnlyList<ChatPart>? Parts = null);

/// <summary>
/// The model's own chat_template (chat_template.jinja, tokenizer_config.json "chat_template", or chat_template.json),
/// rendered by the Jinja interpreter in Text/Jinja the way transformers' apply_chat_template does
/// (trim_blocks, lstrip_blocks, loop controls; bos_token/eos_token/pad_token/unk_token from the tokenizer config).
/// </summary>
public sealed class ChatTemplate
{
    private static readonly string[] TokenVariables = ["bos_token", "eos_token", "pad_token", "unk_token"];

    private readonly JinjaTemplate _template;
    private readonly IReadOnlyDictionary<string, object?> _tokens;

    private ChatTemplate(string source, IReadOnlyDictionary<string, object?> tokens)
    {
        Source = source;
        _template = new JinjaTemplate(source);
        _tokens = tokens;
    }

    /// <summary>The template text.</summary>
    public string Source { get; }

    /// <exception cref="FileNotFoundException">The folder has no chat template.</exception>
    /// <exception cref="JinjaSyntaxException">The template uses syntax the interpreter does not support (the message says where).</exception>
    public static ChatTemplate Load(string modelDirectory)
    {
        var config = ModelFiles.ReadJson(Path.Combine(modelDirectory, "tokenizer_config.json"));
        var specialMap = ModelFiles.ReadJson(Path.Combine(modelDirectory, "special_tokens_map.json"));
        var tokens = new Dictionary<string, object?>();
        foreach (var name in TokenVariables)
            if (TokenizerSpecReader.TokenName(config, specialMap, name) is { } value) tokens[name] = value;
        string source = FindSource(modelDirectory, config)
            ?? throw new FileNotFoundException($"No chat template in {modelDirectory}: expected chat_template.jinja, \"chat_template\" in tokenizer_config.json, or chat_template.json.");
        return new ChatTemplate(source, tokens);
    }

    /// <summary>A template from its text (special-token variables such as bos_token given explicitly).</summary>
    public static ChatTemplate Parse(string source, IReadOnlyDictionary<string, string>? specialTokens = null) =>
        new(source, specialTokens?.ToDictionary(kv => kv.Key, kv => (object?)kv.Value) ?? []);

    /// <summary>Renders the conversation. Content with Parts becomes a list of {"type": "image"} / {"type": "text", "text": …}.</summary>
    /// <exception cref="InvalidRequestException">(field "messages") the template rejected the conversation (raise_exception) or could not render it.</exception>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true) =>
        Render(messages, addGenerationPrompt, null);

    /// <summary>Renders with extra template variables (e.g. "tools", "date_string"); values may be CLR values or JsonElement.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? variables)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var vars = new Dictionary<string, object?>(_tokens)
        {
            ["messages"] = messages.Select(ToTemplateValue).ToList(),
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        if (variables is not null) foreach (var (k, v) in variables) vars[k] = v;
        try
        {
            return _template.Render(vars);
        }
        catch (TemplateRaisedException e)
        {
            throw new InvalidRequestException("messages", $"The model's chat template rejected the conversation: {e.Message}");
        }
        catch (JinjaRuntimeException e)
        {
            throw new InvalidRequestException("messages", $"The model's chat template could not render the conversation: {e.Message}");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or ArithmeticException or InsufficientExecutionStackException)
        {
            // A builtin given values it cannot handle (a missing argument, a list of mixed types to sort...).
            throw new InvalidRequestException("messages", $"The model's chat template could not render the conversation ({e.GetType().Name}): {e.Message}");
        }
    }

    private static object? ToTemplateValue(ChatMessage m)
    {
        object? content = m.Parts is null
            ? m.Content
            : m.Parts.Select(p => (object?)(p.Type == "text"
                ? new Dictionary<string, object?> { ["type"] = "text", ["text"] = p.Text ?? "" }
                : new Dictionary<string, object?> { ["type"] = p.Type })).ToList();
        return new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = content };
    }

    private static string? FindSource(string dir, JsonElement? config)
    {
        string jinja = Path.Combine(dir, "chat_template.jinja");
        if (File.Exists(jinja)) return File.ReadAllText(jinja);
        if (config is { } c && c.TryGetProperty("chat_template", out var t) && FromValue(t) is { } fromConfig) return fromConfig;
        if (ModelFiles.ReadJson(Path.Combine(dir, "chat_template.json")) is { } j && j.TryGetProperty("chat_template", out var t2)) return FromValue(t2);
        return null;
    }

    /// <summary>"chat_template" is a string, or a list of {"name", "template"} (the "default" one is used).</summary>
    private static string? FromValue(JsonElement t) => t.ValueKind switch
    {
        JsonValueKind.String => t.GetString(),
        JsonValueKind.Array => t.EnumerateArray()
            .Where(x => x.TryGetProperty("name", out var n) && n.GetString() == "default")
            .Select(x => x.GetProperty("template").GetString()).FirstOrDefault(),
        _ => null,
    };
}
