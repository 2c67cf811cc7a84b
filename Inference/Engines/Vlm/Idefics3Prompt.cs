using System.Text;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>The image tokens of an Idefics3 / SmolVLM prompt (Idefics3Processor's, which are fixed names in the tokenizer).</summary>
public sealed record Idefics3Tokens(string Image = "<image>", string FakeAround = "<fake_token_around_image>", string Global = "<global-img>")
{
    /// <summary>The token naming a grid tile, 1-based: &lt;row_1_col_1&gt; is the top left tile.</summary>
    public static string Tile(int row, int col) => $"<row_{row}_col_{col}>";

    /// <summary>Checks that the tokenizer has each token the expansion writes for these grids (a missing one would be split into text bytes).</summary>
    public void Check(ITextTokenizer tokenizer, IEnumerable<(int Rows, int Cols)> grids)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        foreach (var token in new[] { Image, FakeAround, Global })
            if (tokenizer.TokenToId(token) is null) throw new InvalidDataException($"The tokenizer has no '{token}' token, which Idefics3 prompts need.");
        var rows = grids.Select(g => g.Rows).DefaultIfEmpty(0).Max();
        var cols = grids.Select(g => g.Cols).DefaultIfEmpty(0).Max();
        if (rows > 0 && cols > 0 && tokenizer.TokenToId(Tile(rows, cols)) is null)
            throw new InvalidRequestException("image", $"The image needs a {rows} x {cols} grid of tiles, but the tokenizer has no '{Tile(rows, cols)}' token.");
    }
}

/// <summary>
/// Idefics3Processor's prompt expansion: each image token of the rendered prompt becomes, for a rows x cols grid,
/// per tile &lt;fake_token_around_image&gt;&lt;row_r_col_c&gt; and image_seq_len image tokens, a newline after each row,
/// then a newline and &lt;fake_token_around_image&gt;&lt;global-img&gt;, image_seq_len image tokens and
/// &lt;fake_token_around_image&gt;; an image without a grid (0 x 0) is only the global part. The expanded text is then
/// tokenized whole, as the processor does; image k's features fill the image-token positions in order.
/// </summary>
public static class Idefics3Prompt
{
    /// <summary>The text that stands for one image.</summary>
    public static string ImageText(int rows, int cols, int seqLen, Idefics3Tokens tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var image = string.Concat(Enumerable.Repeat(tokens.Image, seqLen));
        var sb = new StringBuilder();
        if (rows > 0 && cols > 0)
        {
            for (var r = 1; r <= rows; r++)
            {
                for (var c = 1; c <= cols; c++) sb.Append(tokens.FakeAround).Append(Idefics3Tokens.Tile(r, c)).Append(image);
                sb.Append('\n');
            }
            sb.Append('\n');
        }
        return sb.Append(tokens.FakeAround).Append(tokens.Global).Append(image).Append(tokens.FakeAround).ToString();
    }

    /// <summary>The prompt with its k-th image token replaced by image k's text; the count of image tokens must equal the images'.</summary>
    public static string Expand(string text, IReadOnlyList<(int Rows, int Cols)> grids, int seqLen, Idefics3Tokens tokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(grids);
        ArgumentNullException.ThrowIfNull(tokens);
        var parts = text.Split(tokens.Image);
        if (parts.Length - 1 != grids.Count)
            throw new InvalidRequestException("messages", $"The prompt has {parts.Length - 1} image placeholder(s) but {grids.Count} image(s) were given.");
        var sb = new StringBuilder(parts[0]);
        for (var k = 0; k < grids.Count; k++)
            sb.Append(ImageText(grids[k].Rows, grids[k].Cols, seqLen, tokens)).Append(parts[k + 1]);
        return sb.ToString();
    }
}
