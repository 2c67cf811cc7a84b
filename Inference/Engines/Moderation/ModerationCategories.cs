namespace MultimodalHub.Inference.Engines.Moderation;

/// <summary>OpenAI's moderation categories (omni-moderation), and the input kinds each applies to.</summary>
public static class ModerationCategories
{
    public static readonly IReadOnlyList<string> All =
    [
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
        "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence", "violence/graphic",
    ];

    /// <summary>Categories OpenAI checks on images too (the others are text only).</summary>
    public static readonly IReadOnlySet<string> ImageCategories = new HashSet<string>(StringComparer.Ordinal)
    {
        "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "violence", "violence/graphic",
    };
}
