using System.Text;

namespace MultimodalHub.Inference.Text;

/// <summary>
/// Decodes a growing id stream to text, emitting only complete UTF-8 characters: the bytes of a character split across
/// tokens (emoji, CJK in byte-level BPE) are held back until the character is complete. The concatenation of every
/// Push plus Flush equals Decode of all ids.
/// </summary>
public sealed class StreamingDecoder(ITextTokenizer tokenizer, bool skipSpecialTokens = true)
{
    private readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    private readonly List<byte> _bytes = [];
    private readonly List<int> _ids = []; // fallback for tokenizers without byte access
    private string _emitted = "";

    /// <summary>Add one id; returns the new text that is complete (possibly empty).</summary>
    public string Push(int id)
    {
        if (tokenizer is ITokenBytes byteTokenizer)
        {
            _bytes.Clear();
            byteTokenizer.AppendTokenBytes(id, skipSpecialTokens, _bytes);
            if (_bytes.Count == 0) return "";
            var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_bytes);
            var chars = new char[_utf8.GetCharCount(span, flush: false)];
            int n = _utf8.GetChars(span, chars, flush: false);
            return new string(chars, 0, n);
        }
        // Generic path: decode everything and emit what is new, holding back a trailing replacement character.
        _ids.Add(id);
        string full = tokenizer.Decode(_ids, skipSpecialTokens);
        string stable = full.EndsWith('\uFFFD') ? full.TrimEnd('\uFFFD') : full;
        if (!stable.StartsWith(_emitted, StringComparison.Ordinal)) return "";
        string delta = stable[_emitted.Length..];
        _emitted = stable;
        return delta;
    }

    /// <summary>Whatever is left at the end (replacement characters for an unfinished byte sequence).</summary>
    public string Flush()
    {
        if (tokenizer is ITokenBytes)
        {
            var chars = new char[8];
            int n = _utf8.GetChars([], chars, flush: true);
            return new string(chars, 0, n);
        }
        string full = tokenizer.Decode(_ids, skipSpecialTokens);
        string delta = full.StartsWith(_emitted, StringComparison.Ordinal) ? full[_emitted.Length..] : "";
        _emitted = full;
        return delta;
    }
}
