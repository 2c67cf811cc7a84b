namespace MultimodalHub.Inference.Text;

// API contract of the shared text stack (issue #4). The implementation replaces these stubs; engines code against them.

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
public sealed record PaddedIds(long[] InputIds, long[] AttentionMask);

public static class TokenizerLoader
{
    /// <summary>Load the tokenizer of a model folder (or sub-folder such as sd's tokenizer/).</summary>
    public static ITextTokenizer Load(string directory) => throw new NotImplementedException("issue #4");

    /// <summary>CLIP encoding padded/truncated to maxLength (default: model_max_length from tokenizer_config.json, else 77).</summary>
    public static PaddedIds EncodePadded(this ITextTokenizer tokenizer, string text, int maxLength = 77) => throw new NotImplementedException("issue #4");
}

/// <summary>Decodes a growing id stream to text, emitting only complete UTF-8 characters.</summary>
public sealed class StreamingDecoder(ITextTokenizer tokenizer, bool skipSpecialTokens = true)
{
    /// <summary>Add one id; returns the new text that is complete (possibly empty).</summary>
    public string Push(int id) => throw new NotImplementedException("issue #4");

    /// <summary>Whatever is left at the end (replacement characters for an unfinished byte sequence).</summary>
    public string Flush() => throw new NotImplementedException("issue #4");
}
