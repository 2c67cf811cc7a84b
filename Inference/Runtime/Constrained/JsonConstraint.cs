using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Runtime.Constrained;

/// <summary>
/// The bytes every token of a model decodes to, made once per model: a prefix tree over the tokens' byte strings
/// (special tokens and ids beyond the tokenizer left out) so that one walk from an automaton state finds every token
/// that may come next, and the "plain" tokens (printable text without quote, backslash or control bytes, whole UTF-8
/// characters) that any unbounded string accepts as they are, kept out of the tree walked inside strings.
/// </summary>
public sealed class TokenByteIndex
{
    internal sealed class Node
    {
        public byte[] Keys = [];
        public Node[] Children = [];
        public int[] Ids = [];
    }

    private TokenByteIndex(byte[][] bytes, Node all, Node special, int[] plain)
    {
        Bytes = bytes;
        All = all;
        NonPlain = special;
        Plain = plain;
    }

    /// <summary>Each id's bytes (empty for ids that never appear in text).</summary>
    public IReadOnlyList<byte[]> Bytes { get; }

    internal Node All { get; }

    internal Node NonPlain { get; }

    internal int[] Plain { get; }

    /// <param name="tokenBytes">Bytes of id i for i in [0, vocabSize); empty for special tokens.</param>
    public static TokenByteIndex Build(int vocabSize, Func<int, byte[]> tokenBytes)
    {
        var bytes = new byte[vocabSize][];
        var plain = new List<int>();
        var all = new Builder();
        var nonPlain = new Builder();
        for (var id = 0; id < vocabSize; id++)
        {
            bytes[id] = tokenBytes(id);
            if (bytes[id].Length == 0) continue;
            all.Add(bytes[id], id);
            if (IsPlain(bytes[id])) plain.Add(id);
            else nonPlain.Add(bytes[id], id);
        }
        return new TokenByteIndex(bytes, all.Freeze(), nonPlain.Freeze(), [.. plain]);
    }

    /// <summary>Printable, no quote/backslash/control bytes, whole UTF-8 characters only.</summary>
    private static bool IsPlain(byte[] token)
    {
        for (var i = 0; i < token.Length; i++)
        {
            var b = token[i];
            if (b < 0x20 || b == (byte)'"' || b == (byte)'\\') return false;
            if (b < 0x80) continue;
            var n = b switch { >= 0xC2 and <= 0xDF => 1, >= 0xE0 and <= 0xEF => 2, >= 0xF0 and <= 0xF4 => 3, _ => -1 };
            if (n < 0 || i + n >= token.Length) return false;
            for (var j = 1; j <= n; j++) if (token[i + j] is < 0x80 or > 0xBF) return false;
            i += n;
        }
        return true;
    }

    private sealed class Builder
    {
        private readonly SortedDictionary<byte, Builder> _children = [];
        private readonly List<int> _ids = [];

        public void Add(byte[] bytes, int id)
        {
            var node = this;
            foreach (var b in bytes)
            {
                if (!node._children.TryGetValue(b, out var next)) node._children[b] = next = new Builder();
                node = next;
            }
            node._ids.Add(id);
        }

        public Node Freeze() => new()
        {
            Keys = [.. _children.Keys],
            Children = [.. _children.Values.Select(c => c.Freeze())],
            Ids = [.. _ids],
        };
    }
}

/// <summary>
/// response_format as a token constraint: at each step only the tokens whose bytes keep the output a prefix of JSON
/// that fits the schema stay allowed, and the end ids only once the value is complete (and then nothing else). With a
/// token budget (max_tokens), once the tokens left are just enough to write the shortest completion of the value and
/// the end id, only tokens along that completion are allowed, so the answer parses even when it runs out of tokens
/// (as long as the budget holds the shortest value the schema admits).
/// </summary>
public sealed class JsonConstraint(TokenByteIndex index, SchemaNode schema, IReadOnlySet<int> endIds, int maxTokens = int.MaxValue) : ITokenConstraint
{
    private JsonState _state = JsonState.Start(schema);
    private bool[] _allowed = [];
    private int _accepted;

    /// <summary>The state after the tokens accepted so far.</summary>
    public JsonState State => _state;

    public void Mask(Span<float> logits)
    {
        if (_allowed.Length != logits.Length) _allowed = new bool[logits.Length];
        else Array.Clear(_allowed);
        var left = maxTokens - _accepted;
        var endOnly = _state.CanEnd && left <= 1;
        var any = false;
        if (!endOnly)
        {
            var closing = _state.Closing();
            if (closing.Length > 0 && left <= closing.Length + 1) any = AllowAlong(index.All, closing, _allowed);
            if (!any) any = Allow(_state, _allowed);
        }
        if (_state.CanEnd || !any)
            foreach (var id in endIds) if ((uint)id < (uint)_allowed.Length) _allowed[id] = true; // a dead end (no token fits) ends the answer
        for (var i = 0; i < logits.Length; i++) if (!_allowed[i]) logits[i] = float.NegativeInfinity;
    }

    public void Accept(int id)
    {
        _accepted++;
        if (endIds.Contains(id) || (uint)id >= (uint)index.Bytes.Count) return;
        _state = _state.Feed(index.Bytes[id]) ?? _state;
    }

    /// <summary>Marks the tokens whose bytes are a prefix of <paramref name="path"/>; returns whether there is one.</summary>
    private static bool AllowAlong(TokenByteIndex.Node root, byte[] path, bool[] allowed)
    {
        var any = false;
        var node = root;
        foreach (var b in path)
        {
            var i = Array.BinarySearch(node.Keys, b);
            if (i < 0) break;
            node = node.Children[i];
            foreach (var id in node.Ids) if (id < allowed.Length) { allowed[id] = true; any = true; }
        }
        return any;
    }

    /// <summary>Marks every token that may follow <paramref name="state"/>; returns whether there is one.</summary>
    public bool Allow(JsonState state, bool[] allowed)
    {
        var any = false;
        if (state.InFreeString)
        {
            foreach (var id in index.Plain) if (id < allowed.Length) allowed[id] = true;
            any = index.Plain.Length > 0;
            return Walk(index.NonPlain, state, allowed) | any;
        }
        return Walk(index.All, state, allowed);
    }

    private static bool Walk(TokenByteIndex.Node node, JsonState state, bool[] allowed)
    {
        var any = false;
        for (var i = 0; i < node.Keys.Length; i++)
        {
            var next = state.Feed(node.Keys[i]);
            if (next is null) continue;
            var child = node.Children[i];
            foreach (var id in child.Ids) if (id < allowed.Length) { allowed[id] = true; any = true; }
            any |= Walk(child, next, allowed);
        }
        return any;
    }
}
