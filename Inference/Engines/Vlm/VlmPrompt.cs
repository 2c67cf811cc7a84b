using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>The prompt before and after image-token expansion, and where the image rows go.</summary>
public sealed record VlmPromptIds(string Text, IReadOnlyList<int> Ids, IReadOnlyList<int> ExpandedIds, IReadOnlyList<int> ImagePositions);

/// <summary>
/// The model's prompt rule: render the chat template (an image part renders as the image token), tokenize (each image
/// token one id), repeat each image id image_seq_len times; embed the expanded ids and overwrite the rows at image
/// positions, in order, with the images' features (the k-th image token takes image k's rows).
/// </summary>
public static class VlmPrompt
{
    public static VlmPromptIds Build(VlmModel model, IReadOnlyList<ChatMessage> messages, int images)
    {
        var text = model.Template.Render(messages, addGenerationPrompt: true);
        var ids = model.Tokenizer.Encode(text, addSpecialTokens: false);
        var found = ids.Count(i => i == model.ImageTokenId);
        if (found != images)
            throw new InvalidRequestException("messages", $"The prompt has {found} image placeholder(s) but {images} image(s) were given.");
        var (expanded, positions) = Expand(ids, model.ImageTokenId, model.ImageSeqLen);
        return new VlmPromptIds(text, ids, expanded, positions);
    }

    public static (int[] Expanded, int[] Positions) Expand(IReadOnlyList<int> ids, int imageTokenId, int seqLen)
    {
        var expanded = new List<int>(ids.Count + seqLen);
        var positions = new List<int>();
        foreach (var id in ids)
        {
            if (id != imageTokenId) { expanded.Add(id); continue; }
            for (var k = 0; k < seqLen; k++) { positions.Add(expanded.Count); expanded.Add(id); }
        }
        return (expanded.ToArray(), positions.ToArray());
    }

    /// <summary>
    /// inputs_embeds [count, hidden] for expanded[start..], with image rows spliced in. features[k] are the rows of
    /// image k ([seq_len × hidden]); positions are absolute (in the whole expanded prompt).
    /// </summary>
    public static float[] Embeddings(VlmModel model, IReadOnlyList<int> expanded, IReadOnlyList<int> positions, IReadOnlyList<float[]> features, int start = 0)
    {
        var part = expanded.Skip(start).Select(i => (long)i).ToArray();
        var embeds = VlmEncode.Embed(model, part);
        Splice(embeds, model.HiddenSize, positions, features, model.ImageSeqLen, start);
        return embeds;
    }

    public static void Splice(float[] embeds, int hidden, IReadOnlyList<int> positions, IReadOnlyList<float[]> features, int seqLen, int start = 0)
    {
        for (var j = 0; j < positions.Count; j++)
        {
            var row = positions[j] - start;
            if (row < 0) continue;
            var image = features[j / seqLen];
            image.AsSpan((j % seqLen) * hidden, hidden).CopyTo(embeds.AsSpan(row * hidden, hidden));
        }
    }
}
