using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>A rendered, tokenized prompt and what was dropped to fit it.</summary>
public sealed record ChatPrompt(string Text, IReadOnlyList<int> Ids, ContextNote? Context);

/// <summary>
/// Renders the conversation with the model's chat template and tokenizes it; when prompt + max_tokens exceed the
/// context window, drops the oldest turns (never the system prompt, never the last message) and says so.
/// </summary>
public static class ChatTokenize
{
    /// <summary>Most messages accepted in one conversation.</summary>
    public const int MaxMessages = 512;

    /// <summary>Characters accepted per context-window token (a generous 4 characters a token, 8 windows' worth).</summary>
    public const int MaxCharsPerWindowToken = 8 * 4;

    public static ChatPrompt Build(ChatModel model, IReadOnlyList<ChatMessage> messages, int maxNewTokens, int contextWindow,
        string maxTokensField = "max_tokens", CancellationToken ct = default)
    {
        var budget = contextWindow - maxNewTokens;
        if (budget < 1) throw new InvalidRequestException(maxTokensField, $"{maxTokensField} ({maxNewTokens}) leaves no room for the prompt in the context window of {contextWindow} tokens.");
        if (messages.Count > MaxMessages) throw new InvalidRequestException("messages", $"At most {MaxMessages} messages are accepted, not {messages.Count}.");
        var chars = messages.Sum(m => (long)m.Content.Length);
        var maxChars = (long)contextWindow * MaxCharsPerWindowToken;
        if (chars > maxChars) throw new InvalidRequestException("messages", $"The conversation is {chars} characters; at most {maxChars} are accepted for a context window of {contextWindow} tokens.");

        var kept = messages.ToList();
        var dropped = 0;
        var (text, ids) = Render(model, kept);
        long[]? cost = null; // estimated tokens per message, computed once when trimming is needed
        while (ids.Count > budget)
        {
            ct.ThrowIfCancellationRequested();
            var first = kept.FindIndex(m => m.Role != "system");
            if (first < 0 || first >= kept.Count - 1)
                throw new InvalidRequestException("messages", $"The prompt is {ids.Count} tokens; with {maxTokensField} {maxNewTokens} it exceeds the context window of {contextWindow} tokens.");
            cost ??= EstimateCosts(model, messages, ids.Count);
            // Drop whole exchanges (user + its assistant reply) from the oldest until the estimate covers the excess, then render once to confirm.
            var excess = ids.Count - budget;
            var removed = 0L;
            while (removed < excess && first >= 0 && first < kept.Count - 1)
            {
                // Everything dropped so far lies before kept[first], so kept[first + j] is messages[first + dropped + j].
                var count = first + 1 < kept.Count - 1 && kept[first].Role == "user" && kept[first + 1].Role == "assistant" ? 2 : 1;
                for (var j = 0; j < count; j++) removed += cost[first + dropped + j];
                kept.RemoveRange(first, count);
                dropped += count;
                first = kept.FindIndex(m => m.Role != "system");
            }
            (text, ids) = Render(model, kept);
        }
        ContextNote? note = dropped == 0 ? null : new ContextNote(true, dropped, contextWindow,
            $"The conversation did not fit the context window of {contextWindow} tokens; the {dropped} oldest message(s) were left out.");
        return new ChatPrompt(text, ids, note);
    }

    private static (string Text, IReadOnlyList<int> Ids) Render(ChatModel model, IReadOnlyList<ChatMessage> messages)
    {
        var text = model.Template.Render(messages, addGenerationPrompt: true);
        return (text, model.Tokenizer.Encode(text, addSpecialTokens: false));
    }

    /// <summary>Each message's tokens: its content's, plus an even share of the template's own tokens (role markers, separators).</summary>
    private static long[] EstimateCosts(ChatModel model, IReadOnlyList<ChatMessage> messages, int renderedTokens)
    {
        var content = messages.Select(m => (long)model.Tokenizer.Encode(m.Content, addSpecialTokens: false).Count).ToArray();
        var overhead = Math.Max(1, (renderedTokens - content.Sum()) / Math.Max(1, messages.Count));
        return content.Select(c => c + overhead).ToArray();
    }

    /// <summary>A raw prompt (no template) for /v1/completions.</summary>
    public static ChatPrompt Raw(ChatModel model, string prompt, int maxNewTokens, int contextWindow)
    {
        var ids = model.Tokenizer.Encode(prompt, addSpecialTokens: false);
        if (ids.Count == 0) throw new InvalidRequestException("prompt", "prompt must not be empty.");
        if (ids.Count + maxNewTokens > contextWindow)
            throw new InvalidRequestException("prompt", $"The prompt is {ids.Count} tokens; with max_tokens {maxNewTokens} it exceeds the context window of {contextWindow} tokens.");
        return new ChatPrompt(prompt, ids, null);
    }

    /// <summary>Apply a prompting preset to the conversation.</summary>
    public static IReadOnlyList<ChatMessage> ApplyPreset(IReadOnlyList<ChatMessage> messages, ChatPreset preset, ChatOptions options)
    {
        switch (preset)
        {
            case ChatPreset.FewShot:
            {
                var system = messages.Where(m => m.Role == "system").Take(1).ToList();
                var examples = options.FewShotExamples.SelectMany(e => new[] { new ChatMessage("user", e.User), new ChatMessage("assistant", e.Assistant) });
                return [.. system, .. examples, .. messages.Where(m => !system.Contains(m))];
            }
            case ChatPreset.StepByStep:
            {
                if (messages.Count > 0 && messages[0].Role == "system")
                    return [messages[0] with { Content = messages[0].Content.TrimEnd() + "\n" + options.StepByStepInstruction }, .. messages.Skip(1)];
                return [new ChatMessage("system", options.StepByStepInstruction), .. messages];
            }
            default:
                return messages;
        }
    }
}
