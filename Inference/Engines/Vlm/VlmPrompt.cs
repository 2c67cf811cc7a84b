using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>The prompt before and after image-token expansion, and where the image rows go.</summary>
public sealed record VlmPromptIds(string Text, IReadOnlyList<int> Ids, IReadOnlyList<int> ExpandedIds, IReadOnlyList<int> ImagePositions);

/// <summary>
/// The model's prompt rule: render the chat template (an image part renders as the image token), then
/// single-image layout: tokenize (each image token one id), repeat each image id image_seq_len times;
/// Idefics3: replace each image token in the text by its tile grid's expansion (Idefics3Prompt) and tokenize that.
/// Embed the expanded ids and overwrite the rows at image positions, in order, with the images' features (image k's
/// rows follow image k-1's).
/// </summary>
public static class VlmPrompt
{
    /// <summary>The prompt of a conversation about these images (Idefics3 needs their sizes for the tile grids).</summary>
    public static VlmPromptIds Build(VlmModel model, IReadOnlyList<ChatMessage> messages, IReadOnlyList<RgbImage> images)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        if (model.Idefics3Processor is not { } processor) return Build(model, messages, images.Count);
        var text = model.Template.Render(AsParts(messages), addGenerationPrompt: true);
        var grids = images.Select(i => processor.Grid(i.Width, i.Height)).ToList();
        var tokens = model.Idefics3Tokens;
        tokens.Check(model.Tokenizer, grids);
        var expanded = model.Tokenizer.Encode(Idefics3Prompt.Expand(text, grids, model.ImageSeqLen, tokens), addSpecialTokens: false);
        var positions = new List<int>();
        for (var i = 0; i < expanded.Count; i++)
            if (expanded[i] == model.ImageTokenId) positions.Add(i);
        var rows = grids.Sum(g => (g.Rows * g.Cols + 1) * model.ImageSeqLen);
        if (positions.Count != rows)
            throw new InvalidDataException($"The expanded prompt has {positions.Count} image token ids (id {model.ImageTokenId}) but the images need {rows}: the tokenizer does not keep '{tokens.Image}' whole.");
        return new VlmPromptIds(text, model.Tokenizer.Encode(text, addSpecialTokens: false), expanded, positions);
    }

    /// <summary>
    /// Every message's content as a list of parts: SmolVLM's template reads message['content'][0]['type'] and loops
    /// over the parts, so a plain-text turn would otherwise render empty.
    /// </summary>
    public static IReadOnlyList<ChatMessage> AsParts(IReadOnlyList<ChatMessage> messages) =>
        messages.Select(m => m.Parts is null ? m with { Parts = [ChatPart.OfText(m.Content)] } : m).ToList();

    /// <summary>The prompt in the single-image layout (image_seq_len ids per image token).</summary>
    public static VlmPromptIds Build(VlmModel model, IReadOnlyList<ChatMessage> messages, int images)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.IsIdefics3) throw new InvalidOperationException("An Idefics3 prompt depends on the images' sizes: pass the images.");
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
    /// image k ([rows_k × hidden], all images' rows together one per position); positions are absolute (in the whole
    /// expanded prompt).
    /// </summary>
    public static float[] Embeddings(VlmModel model, IReadOnlyList<int> expanded, IReadOnlyList<int> positions, IReadOnlyList<float[]> features, int start = 0)
    {
        var part = expanded.Skip(start).Select(i => (long)i).ToArray();
        var embeds = VlmEncode.Embed(model, part);
        Splice(embeds, model.HiddenSize, positions, features, start);
        return embeds;
    }

    /// <summary>Row j of the images' features (image after image) into the embedding row positions[j] - start (rows before start skipped).</summary>
    public static void Splice(float[] embeds, int hidden, IReadOnlyList<int> positions, IReadOnlyList<float[]> features, int start = 0)
    {
        var total = features.Sum(f => f.Length / hidden);
        if (total != positions.Count)
            throw new InvalidOperationException($"The images have {total} feature rows for {positions.Count} image positions.");
        int k = 0, r = 0;
        for (var j = 0; j < positions.Count; j++, r++)
        {
            while (r == features[k].Length / hidden) { k++; r = 0; }
            var row = positions[j] - start;
            if (row < 0) continue;
            features[k].AsSpan(r * hidden, hidden).CopyTo(embeds.AsSpan(row * hidden, hidden));
        }
    }
}
