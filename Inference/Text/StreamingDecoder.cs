using System.Text;

namespace MultimodalHub.Inference.Text;

/// <summary>
/// Decodes a growing id stream to text, emitting only complete UTF-8 characters: the bytes of a character split across
/// tokens (emoji, CJK in byte-level BPE) are held back until the character is complete. The concatenation of every
/// Push plus Flush equals Decode of all ids.
/// </summary>
/// <remarks>Needs a tokenizer from <see cref="TokenizerLoader"/> (which can say which bytes each id decodes to).</remarks>
public sealed class StreamingDecoder(ITextTokenizer tokenizer, bool skipSpecialTokens = true)
{
    private readonly ITokenBytes _tokenizer = tokenizer as ITokenBytes
        ?? throw new ArgumentException($"StreamingDecoder needs a tokenizer from TokenizerLoader, not {tokenizer?.GetType().Name ?? "null"}.", nameof(tokenizer));
    private readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    private readonly List<byte> _bytes = [];

    /// <summary>Add one id; returns the new text that is complete (possibly empty).</summary>
    public string Push(int id)
    {
        _bytes.Clear();
        _tokenizer.AppendTokenBytes(id, skipSpecialTokens, _bytes);
        if (_bytes.Count == 0) return "";
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_bytes);
        var chars = new char[_utf8.GetCharCount(span, flush: false)];
        int n = _utf8.GetChars(span, chars, flush: false);
        return new string(chars, 0, n);
    }

    /// <summary>Whatever is left at the end (replacement characters for an unfinished byte sequence).</summary>
    public string Flush()
    {
        var chars = new char[8];
        int n = _utf8.GetChars([], chars, flush: true);
        return new string(chars, 0, n);
    }
}

/// <summary>Per-token bytes of a tokenizer from <see cref="TokenizerLoader"/>.</summary>
public static class TokenBytesExtensions
{
    /// <summary>The UTF-8 bytes token <paramref name="id"/> stands for (a special token's own text when not skipped; nothing for unknown ids).</summary>
    public static byte[] TokenBytes(this ITextTokenizer tokenizer, int id, bool skipSpecialTokens = false)
    {
        var source = tokenizer as ITokenBytes
            ?? throw new ArgumentException($"TokenBytes needs a tokenizer from TokenizerLoader, not {tokenizer?.GetType().Name ?? "null"}.", nameof(tokenizer));
        var bytes = new List<byte>();
        source.AppendTokenBytes(id, skipSpecialTokens, bytes);
        return [.. bytes];
    }
}
