namespace MultimodalHub.Inference.Text;

// API contract of the shared text stack (issue #4). Engines code against these types.
// Pipeline files: TokenizerJson.cs (reads the model's files) → Normalizers.cs → PreTokenizers.cs →
// BpeTextTokenizer.cs (added tokens, BPE via Microsoft.ML.Tokenizers, post-processor, decode) → StreamingDecoder.cs.

/// <summary>A tokenizer loaded from a model's own files (tokenizer.json, or vocab.json + merges.txt).</summary>
public interface ITextTokenizer
{
    /// <summary>Ids for a text. addSpecialTokens adds what the tokenizer's post-processor adds (CLIP: bos/eos; Qwen2: nothing).</summary>
    IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true);

    /// <summary>Text for ids; skipSpecialTokens drops added/special tokens.</summary>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true);

    /// <summary>The id of a token string (special tokens included), or null.</summary>
    int? TokenToId(string token);

    /// <summary>Number of ids the tokenizer can produce (base vocab + added tokens).</summary>
    int VocabSize { get; }

    /// <summary>Added/special token ids (bos, eos, pad, im_start, image…).</summary>
    IReadOnlySet<int> SpecialIds { get; }
}

/// <summary>CLIP-style fixed-length encoding: [bos] + tokens + [eos], truncated/padded to maxLength with the pad token.</summary>
/// <param name="Truncated">The text had more tokens than fit (the ids hold its beginning).</param>
public sealed record PaddedIds(long[] InputIds, long[] AttentionMask, bool Truncated = false);

public static class TokenizerLoader
{
    /// <summary>Load the tokenizer of a model folder (or sub-folder such as sd's tokenizer/).</summary>
    /// <exception cref="FileNotFoundException">Neither tokenizer.json nor vocab.json + merges.txt is in the folder.</exception>
    /// <exception cref="NotSupportedException">The tokenizer.json uses a component this stack does not implement (named in the message).</exception>
    public static ITextTokenizer Load(string directory) => new BpeTextTokenizer(TokenizerSpecReader.Read(directory));

    /// <summary>
    /// CLIP encoding padded/truncated to maxLength (default: model_max_length from tokenizer_config.json, else 77):
    /// the post-processor's tokens (bos/eos) are always kept; the text's tokens are truncated to fit; padding with the pad token, mask 0.
    /// </summary>
    public static PaddedIds EncodePadded(this ITextTokenizer tokenizer, string text, int? maxLength = null)
    {
        // Every ITextTokenizer comes from TokenizerLoader (BpeTextTokenizer); no other implementation exists.
        if (tokenizer is not BpeTextTokenizer bpe)
            throw new NotSupportedException($"EncodePadded needs a tokenizer from TokenizerLoader, not {tokenizer.GetType().Name}.");
        int length = maxLength ?? bpe.ModelMaxLength ?? 77;
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(maxLength), length, "maxLength must be at least 1.");
        var ids = bpe.EncodeTruncated(text, length, out var truncated);
        var padId = bpe.PadId ?? bpe.EosId ?? 0;
        var inputIds = new long[length];
        var mask = new long[length];
        for (int i = 0; i < length; i++)
        {
            bool real = i < ids.Count;
            inputIds[i] = real ? ids[i] : padId;
            mask[i] = real ? 1 : 0;
        }
        return new PaddedIds(inputIds, mask, truncated);
    }
}
