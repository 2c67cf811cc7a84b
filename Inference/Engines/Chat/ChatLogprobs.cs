using System.Text;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>
/// Token log-probabilities (ids) in OpenAI's two shapes: chat's choices[].logprobs.content (token, logprob, bytes,
/// top_logprobs) and /v1/completions' parallel lists (tokens, token_logprobs, top_logprobs, text_offset).
/// </summary>
public static class ChatLogprobShapes
{
    /// <summary>Chat: one entry per token.</summary>
    public static ChatLogprobs Chat(ITextTokenizer tokenizer, IReadOnlyList<TokenLogprob> entries) =>
        new(entries.Select(e =>
        {
            var (token, bytes) = Piece(tokenizer, e.Id);
            return new ChatTokenLogprob(token, e.Logprob, bytes, e.Top.Select(t =>
            {
                var (alt, altBytes) = Piece(tokenizer, t.Id);
                return new ChatTopLogprob(alt, t.Logprob, altBytes);
            }).ToList());
        }).ToList());

    /// <summary>A token's text (U+FFFD for the bytes of an unfinished character) and its UTF-8 bytes.</summary>
    public static (string Token, IReadOnlyList<int> Bytes) Piece(ITextTokenizer tokenizer, int id)
    {
        var bytes = tokenizer.TokenBytes(id);
        return (Encoding.UTF8.GetString(bytes), bytes.Select(b => (int)b).ToArray());
    }
}

/// <summary>
/// /v1/completions' logprobs for one choice, in order, over a stream of tokens: keeps the character offset of the next
/// token in the returned text (decoding the tokens' bytes as the text is decoded, so offsets match the text).
/// </summary>
public sealed class CompletionLogprobWriter(ITextTokenizer tokenizer, int startOffset)
{
    private readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    private int _offset = startOffset;

    /// <summary>Entries of prompt tokens (echo): the first has no log-probability (nothing precedes it).</summary>
    public CompletionLogprobs Prompt(IReadOnlyList<int> promptIds, IReadOnlyList<TokenLogprob> scored) =>
        Map(promptIds.Select((id, i) => i == 0 ? (id, (TokenLogprob?)null) : (id, scored[i - 1])).ToList());

    /// <summary>Entries of generated tokens.</summary>
    public CompletionLogprobs Generated(IReadOnlyList<TokenLogprob> entries) => Map(entries.Select(e => (e.Id, (TokenLogprob?)e)).ToList());

    private CompletionLogprobs Map(IReadOnlyList<(int Id, TokenLogprob? Entry)> tokens)
    {
        var texts = new List<string>(tokens.Count);
        var logprobs = new List<double?>(tokens.Count);
        var tops = new List<IReadOnlyDictionary<string, double>?>(tokens.Count);
        var offsets = new List<int>(tokens.Count);
        foreach (var (id, entry) in tokens)
        {
            var bytes = tokenizer.TokenBytes(id);
            texts.Add(Encoding.UTF8.GetString(bytes));
            logprobs.Add(entry?.Logprob);
            tops.Add(entry is null ? null : Top(entry));
            offsets.Add(_offset);
            var chars = new char[_utf8.GetCharCount(bytes, flush: false)];
            _offset += _utf8.GetChars(bytes, chars, flush: false);
        }
        return new CompletionLogprobs(texts, logprobs, tops, offsets);
    }

    private Dictionary<string, double> Top(TokenLogprob entry)
    {
        var top = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var t in entry.Top) top.TryAdd(Encoding.UTF8.GetString(tokenizer.TokenBytes(t.Id)), t.Logprob);
        return top;
    }
}

/// <summary>Scores a prompt: each token's log-probability given the tokens before it, in one pass over the prompt.</summary>
public static class ChatScore
{
    /// <summary>Entries for tokens 1..n-1 of <paramref name="ids"/> (token 0 has no context), each with <paramref name="top"/> alternatives.</summary>
    public static IReadOnlyList<TokenLogprob> Prompt(ChatModel model, IReadOnlyList<int> ids, int top, CancellationToken ct)
    {
        if (ids.Count < 2) return [];
        var input = ids.Select(i => (long)i).ToArray();
        var mask = Enumerable.Repeat(1L, ids.Count).ToArray();
        using var empty = KvCache.Empty(model.Spec, 1);
        using var output = model.Runner.Run(StepInput.OfIds(input, 1), mask, DecoderRunner.Positions(mask, 1, ids.Count), empty, ct, logitsPositions: ids.Count);
        var entries = new TokenLogprob[ids.Count - 1];
        for (var i = 1; i < ids.Count; i++) entries[i - 1] = TokenLogprob.Of(output.At(0, i - 1), model.VocabSize, ids[i], top);
        return entries;
    }
}
