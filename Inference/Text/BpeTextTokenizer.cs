using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace MultimodalHub.Inference.Text;

/// <summary>
/// The tokenizers-library pipeline for BPE models: added tokens matched in the raw text first, then per text segment
/// normalizer → pre-tokenizer → BPE (Microsoft.ML.Tokenizers' BpeTokenizer, one pre-token at a time) → post-processor ids.
/// Covers CLIP (end-of-word "&lt;/w&gt;") and GPT-2/Qwen2/Llama-3 byte-level BPE.
/// </summary>
internal sealed class BpeTextTokenizer : ITextTokenizer, ITokenBytes
{
    internal const int MaxCachedWords = 200_000;
    private const int MaxCachedWordLength = 64;

    private readonly TokenizerSpec _spec;
    private readonly BpeTokenizer _bpe;
    private readonly Regex? _addedPattern;
    private readonly AddedToken[] _addedByGroup;
    private readonly Dictionary<string, int> _addedByContent;
    private readonly Dictionary<int, string> _idToToken = [];
    private readonly HashSet<int> _specialIds;
    private readonly ConcurrentDictionary<string, int[]> _wordCache = new(StringComparer.Ordinal);

    /// <summary>Words added to the cache since it was last cleared (ConcurrentDictionary.Count takes every lock).</summary>
    private int _cachedWords;

    /// <summary>Words in the cache now (tests).</summary>
    internal int CachedWords => _wordCache.Count;

    public BpeTextTokenizer(TokenizerSpec spec)
    {
        _spec = spec;
        string? unk = spec.UnknownToken is { } u && spec.Vocab.ContainsKey(u) ? u : null;
        _bpe = BpeTokenizer.Create(new BpeOptions(spec.Vocab)
        {
            Merges = spec.Merges,
            ByteLevel = spec.ByteLevel,
            EndOfWordSuffix = spec.EndOfWordSuffix.Length > 0 ? spec.EndOfWordSuffix : null,
            ContinuingSubwordPrefix = spec.ContinuingSubwordPrefix.Length > 0 ? spec.ContinuingSubwordPrefix : null,
            UnknownToken = unk,
        });
        foreach (var (token, id) in spec.Vocab) _idToToken[id] = token;
        foreach (var a in spec.AddedTokens) _idToToken[a.Id] = a.Content;
        _addedByContent = spec.AddedTokens.GroupBy(a => a.Content).ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal);
        _specialIds = [.. spec.AddedTokens.Where(a => a.Special).Select(a => a.Id)];

        // Leftmost-longest match of the added tokens (as the tokenizers library's AddedVocabulary does): longest first in the alternation.
        _addedByGroup = [.. spec.AddedTokens.Where(a => a.Content.Length > 0).OrderByDescending(a => a.Content.Length)];
        if (_addedByGroup.Length > 0)
        {
            var alternatives = _addedByGroup.Select((a, i) =>
                $"(?<t{i}>{(a.LStrip ? @"\s*" : "")}{(a.SingleWord ? @"(?<!\w)" : "")}{Regex.Escape(a.Content)}{(a.SingleWord ? @"(?!\w)" : "")}{(a.RStrip ? @"\s*" : "")})");
            _addedPattern = new Regex(string.Join("|", alternatives), RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        VocabSize = _idToToken.Count == 0 ? 0 : _idToToken.Keys.Max() + 1;
        PadId = TokenToId(spec.PadToken ?? "");
        EosId = TokenToId(spec.EosToken ?? "");
    }

    public int VocabSize { get; }
    public IReadOnlySet<int> SpecialIds => _specialIds;

    /// <summary>model_max_length from tokenizer_config.json (null when absent or unbounded).</summary>
    public int? ModelMaxLength => _spec.ModelMaxLength;
    public int? PadId { get; }
    public int? EosId { get; }

    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out int a) ? a : _spec.Vocab.TryGetValue(token, out int v) ? v : null;

    /// <summary>The token string of an id (vocabulary form, e.g. "Ġworld"), or null.</summary>
    public string? IdToToken(int id) => _idToToken.GetValueOrDefault(id);

    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(_spec.PrefixIds);
        EncodeContent(text, ids);
        if (addSpecialTokens) ids.AddRange(_spec.SuffixIds);
        return ids;
    }

    /// <summary>
    /// Post-processed ids of at most maxLength: the text's tokens are cut so that the added prefix/suffix always fit;
    /// says whether the text's tokens were cut.
    /// </summary>
    public IReadOnlyList<int> EncodeTruncated(string text, int maxLength, out bool truncated)
    {
        var content = new List<int>();
        EncodeContent(text, content);
        int room = Math.Max(0, maxLength - _spec.PrefixIds.Count - _spec.SuffixIds.Count);
        truncated = content.Count > room;
        List<int> ids = [.. _spec.PrefixIds, .. content.Take(room), .. _spec.SuffixIds];
        return ids.Count <= maxLength ? ids : ids.GetRange(0, maxLength);
    }

    private void EncodeContent(string text, List<int> ids)
    {
        int pos = 0;
        if (_addedPattern is not null)
        {
            for (var m = _addedPattern.Match(text); m.Success; m = m.NextMatch())
            {
                if (m.Index > pos) EncodeSegment(text.Substring(pos, m.Index - pos), ids);
                ids.Add(MatchedAdded(m).Id);
                pos = m.Index + m.Length;
            }
        }
        if (pos < text.Length) EncodeSegment(pos == 0 ? text : text[pos..], ids);
    }

    private AddedToken MatchedAdded(Match m)
    {
        for (int i = 0; i < _addedByGroup.Length; i++)
            if (m.Groups[i + 1].Success) return _addedByGroup[i];
        throw new InvalidOperationException("added-token match without a group");
    }

    private void EncodeSegment(string segment, List<int> ids)
    {
        string normalized = _spec.Normalizer?.Apply(segment) ?? segment;
        if (normalized.Length == 0) return;
        List<string> words = [];
        if (_spec.PreTokenizer is null) words.Add(normalized); else _spec.PreTokenizer.Split(normalized, words);
        foreach (var word in words)
        {
            if (word.Length == 0) continue;
            ids.AddRange(EncodeWord(word));
        }
    }

    private int[] EncodeWord(string word)
    {
        if (_wordCache.TryGetValue(word, out var cached)) return cached;
        int[] ids;
        if (_spec.IgnoreMerges && _spec.Vocab.TryGetValue((_spec.ByteLevel ? ByteLevel.Map(word) : word) + _spec.EndOfWordSuffix, out int whole)) ids = [whole];
        else ids = [.. _bpe.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false)];
        if (word.Length <= MaxCachedWordLength && _wordCache.TryAdd(word, ids) && Interlocked.Increment(ref _cachedWords) >= MaxCachedWords)
        {
            // Full: start over (the common words come back at once) rather than stop caching new ones for good.
            _wordCache.Clear();
            Interlocked.Exchange(ref _cachedWords, 0);
        }
        return ids;
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var bytes = new List<byte>();
        foreach (int id in ids) AppendTokenBytes(id, skipSpecialTokens, bytes);
        string text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
        // CLIP ("</w>" words): the end-of-word marker became a space; the slow tokenizer strips the result.
        return _spec.EndOfWordSuffix.Length > 0 ? text.Trim() : text;
    }

    /// <summary>The bytes one id contributes to the decoded text (nothing for skipped specials and unknown ids).</summary>
    public void AppendTokenBytes(int id, bool skipSpecialTokens, List<byte> into)
    {
        if (!_idToToken.TryGetValue(id, out var token)) return;
        if (skipSpecialTokens && _specialIds.Contains(id)) return;
        bool endOfWord = _spec.EndOfWordSuffix.Length > 0 && token.EndsWith(_spec.EndOfWordSuffix, StringComparison.Ordinal);
        if (endOfWord) token = token[..^_spec.EndOfWordSuffix.Length];
        if (_spec.ByteLevel) ByteLevel.AppendBytes(token, into);
        else into.AddRange(Encoding.UTF8.GetBytes(token));
        if (endOfWord) into.Add((byte)' ');
    }
}

/// <summary>Tokenizers that can say which bytes each id decodes to (used by StreamingDecoder).</summary>
internal interface ITokenBytes
{
    void AppendTokenBytes(int id, bool skipSpecialTokens, List<byte> into);
}
