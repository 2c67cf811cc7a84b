using System.Text.Json;

namespace MultimodalHub.Contracts;

// POST /v1/moderations in OpenAI's shape. Category names are OpenAI's ("self-harm/intent", ...), used as the
// dictionaries' keys verbatim.

/// <summary>
/// Body of POST /v1/moderations: input is a string, an array of strings (one result each), or an array of parts
/// ({"type":"text","text":...} / {"type":"image_url","image_url":{"url":"data:image/png;base64,..."}}) judged together
/// as one result. model is echoed back.
/// </summary>
public sealed record ModerationRequest
{
    public JsonElement? Input { get; init; }
    public string? Model { get; init; }
}

/// <summary>Response of POST /v1/moderations.</summary>
public sealed record ModerationResponse(string Id, string Model, IReadOnlyList<ModerationResult> Results);

/// <summary>
/// One input's verdict: flagged, per category whether it is flagged and its score (0-1), and which input kinds
/// ("text", "image") each category was checked on; details (a hub extension) says what decided it.
/// </summary>
public sealed record ModerationResult(
    bool Flagged,
    IReadOnlyDictionary<string, bool> Categories,
    IReadOnlyDictionary<string, double> CategoryScores,
    IReadOnlyDictionary<string, IReadOnlyList<string>> CategoryAppliedInputTypes,
    ModerationDetails Details);

/// <summary>What decided a result: the word/pattern rules that matched, the chat model's classification answer, the image checks.</summary>
public sealed record ModerationDetails(IReadOnlyList<ModerationRuleHit> Rules, ModerationClassifierAnswer? Classifier, IReadOnlyList<ImageSafety> Images);

/// <summary>A rule of Moderation:Rules that matched: its category and the word or pattern.</summary>
public sealed record ModerationRuleHit(string Category, string Match, int InputIndex);

/// <summary>The chat model's answer to the classification prompt, and the categories read from it.</summary>
public sealed record ModerationClassifierAnswer(string Model, string Answer, bool Unsafe, IReadOnlyList<string> Categories);
