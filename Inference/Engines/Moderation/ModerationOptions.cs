namespace MultimodalHub.Inference.Engines.Moderation;

/// <summary>Configuration section "Moderation": the text checks of /v1/moderations (images use the "Safety" concepts).</summary>
public sealed class ModerationOptions
{
    public const string Section = "Moderation";

    /// <summary>Word and pattern lists, each for one OpenAI category.</summary>
    public List<ModerationRule> Rules { get; set; } = [];

    /// <summary>The chat model's classification prompt.</summary>
    public ModerationClassifierOptions Classifier { get; set; } = new();

    /// <summary>Most inputs (strings or parts) in one request.</summary>
    public int MaxInputs { get; set; } = 32;

    /// <summary>Longest text input, in characters.</summary>
    public int MaxInputChars { get; set; } = 32_000;
}

/// <summary>Texts containing one of <see cref="Words"/> (whole words, any case) or matching one of <see cref="Patterns"/> (.NET regular expressions, any case) are flagged for <see cref="Category"/>.</summary>
public sealed class ModerationRule
{
    public string Category { get; set; } = "";
    public List<string> Words { get; set; } = [];
    public List<string> Patterns { get; set; } = [];
}

/// <summary>
/// Llama Guard-style classification by a chat model: the prompt (with {text} and {categories} filled in) is answered
/// greedily; an answer matching <see cref="UnsafePattern"/> flags the categories it names (OpenAI's names), or
/// <see cref="DefaultCategory"/> when it names none.
/// </summary>
public sealed class ModerationClassifierOptions
{
    public bool Enabled { get; set; }

    /// <summary>The chat model; default: the first installed chat model.</summary>
    public string? Model { get; set; }

    /// <summary>The user message sent to the model.</summary>
    public string Prompt { get; set; } =
        "Check the text below against these categories: {categories}.\n" +
        "Answer \"safe\" if it violates none; otherwise answer \"unsafe\" and, on the next line, the violated categories separated by commas.\n\n" +
        "Text: {text}";

    /// <summary>A .NET regular expression (any case) that marks an answer as unsafe.</summary>
    public string UnsafePattern { get; set; } = @"^\s*unsafe";

    public string DefaultCategory { get; set; } = "harassment";

    public int MaxTokens { get; set; } = 24;
}
