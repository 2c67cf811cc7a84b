using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>
/// Stage 1: prompt and negative prompt to CLIP ids, [bos] + tokens + [eos] padded with the pad token to the text
/// encoder's length (77), truncated as diffusers does (padding="max_length", truncation=True).
/// </summary>
public static class DiffusionTokenize
{
    public static long[] Tokenize(ITextTokenizer tokenizer, string text, int maxLength) =>
        tokenizer.EncodePadded(text, maxLength).InputIds;

    /// <summary>Ids for the text encoder batch: [negative, prompt] with guidance, [prompt] without.</summary>
    public static IReadOnlyList<long[]> Batch(DiffusionModel model, string prompt, string negativePrompt, bool guided) =>
        Batch(model, Tokenize(model.Tokenizer, prompt, model.MaxTokens), negativePrompt, guided);

    /// <summary><see cref="Batch(DiffusionModel, string, string, bool)"/> with the prompt already tokenized.</summary>
    public static IReadOnlyList<long[]> Batch(DiffusionModel model, long[] promptIds, string negativePrompt, bool guided) =>
        guided ? [Tokenize(model.Tokenizer, negativePrompt, model.MaxTokens), promptIds] : [promptIds];

    /// <summary>The prompt the model actually reads when it was cut at the text encoder's length; null when it fit.</summary>
    public static string? Revised(ITextTokenizer tokenizer, PaddedIds prompt) =>
        prompt.Truncated ? tokenizer.Decode(prompt.InputIds.Where((_, i) => prompt.AttentionMask[i] != 0).Select(x => (int)x), skipSpecialTokens: true).Trim() : null;
}
