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
    public static ChatPrompt Build(ChatModel model, IReadOnlyList<ChatMessage> messages, int maxNewTokens, int contextWindow)
    {
        var budget = contextWindow - maxNewTokens;
        if (budget < 1) throw new InvalidRequestException("max_tokens", $"max_tokens ({maxNewTokens}) leaves no room for the prompt in the context window of {contextWindow} tokens.");
        var kept = messages.ToList();
        var dropped = 0;
        while (true)
        {
            var text = model.Template.Render(kept, addGenerationPrompt: true);
            var ids = model.Tokenizer.Encode(text, addSpecialTokens: false);
            if (ids.Count <= budget)
            {
                ContextNote? note = dropped == 0 ? null : new ContextNote(true, dropped, contextWindow,
                    $"The conversation did not fit the context window of {contextWindow} tokens; the {dropped} oldest message(s) were left out.");
                return new ChatPrompt(text, ids, note);
            }
            var first = kept.FindIndex(m => m.Role != "system");
            if (first < 0 || first >= kept.Count - 1)
                throw new InvalidRequestException("messages", $"The prompt is {ids.Count} tokens; with max_tokens {maxNewTokens} it exceeds the context window of {contextWindow} tokens.");
            // Drop a whole exchange (user + its assistant reply) when possible, so turns stay paired.
            var count = first + 1 < kept.Count - 1 && kept[first].Role == "user" && kept[first + 1].Role == "assistant" ? 2 : 1;
            kept.RemoveRange(first, count);
            dropped += count;
        }
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
