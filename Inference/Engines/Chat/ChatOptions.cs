namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>Configuration section "Chat".</summary>
public sealed class ChatOptions
{
    public const string Section = "Chat";

    /// <summary>max_tokens when a request gives none and generation_config.json has no max_new_tokens.</summary>
    public int DefaultMaxTokens { get; set; } = 256;

    /// <summary>Upper bound of n (choices per request) and of the self-consistency samples.</summary>
    public int MaxChoices { get; set; } = 8;

    /// <summary>Samples drawn by the self-consistency preset when the request does not say.</summary>
    public int SelfConsistencySamples { get; set; } = 5;

    /// <summary>Prompt-lookup speculative decoding by default with this many draft tokens (0 = off; a request's prompt_lookup_num_tokens wins).</summary>
    public int PromptLookupTokens { get; set; }

    /// <summary>Draft model per chat model id (draft-model speculative decoding by default; a request's draft_model wins).</summary>
    public Dictionary<string, string> DraftModels { get; set; } = [];

    /// <summary>Draft tokens per round for a draft model when the request does not say.</summary>
    public int SpeculativeTokens { get; set; } = 4;

    /// <summary>Context window override (0 = the model's max_position_embeddings).</summary>
    public int ContextWindow { get; set; }

    /// <summary>Added to the system prompt by the step-by-step preset.</summary>
    public string StepByStepInstruction { get; set; } = "Think step by step, then give the final answer.";

    /// <summary>Example exchanges the few-shot preset puts before the conversation (user, assistant pairs).</summary>
    public List<FewShotExample> FewShotExamples { get; set; } =
    [
        new("write a prompt for a picture of a red circle", "a large red circle in the center on a white background"),
        new("what is red and yellow mixed?", "orange"),
    ];
}

public sealed record FewShotExample(string User, string Assistant);
