namespace MultimodalHub.Inference.Runtime.Constrained;

/// <summary>
/// A byte-level pushdown automaton for JSON that fits a <see cref="SchemaNode"/>: an immutable state (a stack of
/// frames, each the progress inside one value) that <see cref="Feed"/> advances by one byte, or refuses (null). States
/// are shared, never changed, so trying every token of the vocabulary from one state costs no copies.
/// Whitespace between tokens is allowed but bounded (<see cref="MaxWhitespace"/> per gap), numbers have at most
/// <see cref="MaxDigits"/> digits per part, so every value can be finished in a bounded number of bytes.
/// </summary>
public sealed class JsonState
{
    /// <summary>Whitespace bytes allowed in one gap between JSON tokens.</summary>
    public const int MaxWhitespace = 12;

    /// <summary>Digits allowed in a number's integer, fraction or exponent part.</summary>
    public const int MaxDigits = 16;

    private static readonly JsonState Done = new(null, null);

    private JsonState(JsonFrame? top, JsonState? parent)
    {
        Top = top;
        Parent = parent;
    }

    internal JsonFrame? Top { get; }

    internal JsonState? Parent { get; }

    public static JsonState Start(SchemaNode root) => new(new ValueFrame(root, 0), null);

    /// <summary>The whole value is written (nothing may follow but the end).</summary>
    public bool Finished => Top is null;

    /// <summary>The output may end here: finished, or the top-level value is a number/literal that is complete as it stands.</summary>
    public bool CanEnd => Top is null || (Parent is null && Top.CanEnd);

    /// <summary>Inside a string without pending escapes, partial characters or a length limit: any plain text token keeps it so.</summary>
    public bool InFreeString => Top is StringFrame { Free: true };

    /// <summary>The state after one more byte, or null if the byte cannot come next.</summary>
    public JsonState? Feed(byte b)
    {
        var state = this;
        while (true)
        {
            if (state.Top is null) return null;
            var r = state.Top.Feed(b);
            switch (r.Kind)
            {
                case StepKind.Invalid:
                    return null;
                case StepKind.Replace:
                    return new JsonState(r.Frame, state.Parent);
                case StepKind.Push:
                    state = new JsonState(r.Child, new JsonState(r.Frame, state.Parent));
                    continue;
                case StepKind.Done:
                    return state.Parent ?? Done;
                default: // DoneRefeed: the value ended before this byte, which belongs to the enclosing one
                    state = state.Parent ?? Done;
                    continue;
            }
        }
    }

    /// <summary>The shortest bytes that complete the value from here (empty when it may end now).</summary>
    public byte[] Closing()
    {
        var into = new List<byte>();
        for (var s = this; s?.Top is not null; s = s.Parent) s.Top.Close(into);
        return [.. into];
    }

    /// <summary>The state after all of <paramref name="bytes"/>, or null.</summary>
    public JsonState? Feed(ReadOnlySpan<byte> bytes)
    {
        var s = this;
        foreach (var b in bytes)
        {
            s = s.Feed(b);
            if (s is null) return null;
        }
        return s;
    }
}

internal enum StepKind { Invalid, Replace, Push, Done, DoneRefeed }

/// <summary>What a frame does with a byte: refuse it, become another frame, push a child that re-reads it, or end (consuming it or not).</summary>
internal readonly record struct FrameStep(StepKind Kind, JsonFrame? Frame = null, JsonFrame? Child = null)
{
    public static readonly FrameStep Invalid = new(StepKind.Invalid);
    public static readonly FrameStep Done = new(StepKind.Done);
    public static readonly FrameStep DoneRefeed = new(StepKind.DoneRefeed);

    public static FrameStep Replace(JsonFrame f) => new(StepKind.Replace, f);

    /// <summary>This frame continues as <paramref name="self"/> once <paramref name="child"/> (which reads the same byte first) is done.</summary>
    public static FrameStep Push(JsonFrame self, JsonFrame child) => new(StepKind.Push, self, child);
}

internal abstract class JsonFrame
{
    public abstract FrameStep Feed(byte b);

    /// <summary>Append the shortest bytes that finish this frame's value from where it is (its child, if any, already finished).</summary>
    public abstract void Close(List<byte> into);

    public virtual bool CanEnd => false;

    public static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t';
}

/// <summary>Before a value: whitespace, then the first byte chooses the kind the schema admits.</summary>
internal sealed class ValueFrame(SchemaNode schema, int whitespace) : JsonFrame
{
    public override void Close(List<byte> into) => into.AddRange(Shortest.Value(schema));

    public override FrameStep Feed(byte b)
    {
        if (IsWhitespace(b)) return whitespace < JsonState.MaxWhitespace ? FrameStep.Replace(new ValueFrame(schema, whitespace + 1)) : FrameStep.Invalid;
        if (schema.Literals is { } literals) return LiteralFrame.Begin(literals, b);
        var k = schema.Kinds;
        return b switch
        {
            (byte)'"' when (k & JsonKinds.String) != 0 => FrameStep.Replace(StringFrame.Begin(schema.MinLength, schema.MaxLength)),
            (byte)'{' when (k & JsonKinds.Object) != 0 => FrameStep.Replace(new ObjectFrame(schema, ObjectPhase.AfterOpen, 0, -1, 0)),
            (byte)'[' when (k & JsonKinds.Array) != 0 => FrameStep.Replace(new ArrayFrame(schema, ArrayPhase.AfterOpen, 0, 0)),
            (byte)'-' or (>= (byte)'0' and <= (byte)'9') when (k & (JsonKinds.Integer | JsonKinds.Number)) != 0
                => new NumberFrame((k & JsonKinds.Number) == 0, NumberPhase.Start, 0).Feed(b),
            (byte)'t' or (byte)'f' when (k & JsonKinds.Boolean) != 0 => LiteralFrame.Begin(LiteralFrame.Booleans, b),
            (byte)'n' when (k & JsonKinds.Null) != 0 => LiteralFrame.Begin(LiteralFrame.Null, b),
            _ => FrameStep.Invalid,
        };
    }
}

/// <summary>One of a fixed set of byte strings (true/false/null, enum and const values, declared keys), matched so far up to <c>pos</c>.</summary>
internal sealed class LiteralFrame(IReadOnlyList<byte[]> candidates, int pos) : JsonFrame
{
    public static readonly IReadOnlyList<byte[]> Booleans = ["true"u8.ToArray(), "false"u8.ToArray()];
    public static readonly IReadOnlyList<byte[]> Null = ["null"u8.ToArray()];

    public static FrameStep Begin(IReadOnlyList<byte[]> candidates, byte b) => new LiteralFrame(candidates, 0).Feed(b);

    public override bool CanEnd => candidates.Any(c => c.Length == pos);

    public override void Close(List<byte> into) => into.AddRange(candidates.MinBy(c => c.Length)!.AsSpan(pos));

    public override FrameStep Feed(byte b)
    {
        List<byte[]>? next = null;
        foreach (var c in candidates)
            if (c.Length > pos && c[pos] == b) (next ??= []).Add(c);
        if (next is null) return CanEnd ? FrameStep.DoneRefeed : FrameStep.Invalid;
        // Complete and nothing longer: the value ends with this byte.
        if (next.All(c => c.Length == pos + 1)) return FrameStep.Done;
        return FrameStep.Replace(new LiteralFrame(next, pos + 1));
    }
}

/// <summary>Inside a string: characters counted in code points, escapes, UTF-8 sequences checked byte by byte (no overlong forms, no surrogates).</summary>
internal sealed class StringFrame(int minLength, int? maxLength, int length, int escape, int utf8, byte lo = 0x80, byte hi = 0xBF) : JsonFrame
{
    /// <summary>After a backslash.</summary>
    private const int Backslash = -1;

    public static StringFrame Begin(int minLength, int? maxLength) => new(minLength, maxLength, 0, 0, 0);

    /// <summary>No escape or character in progress and no upper length bound.</summary>
    public bool Free => escape == 0 && utf8 == 0 && maxLength is null;

    private bool Room => maxLength is null || length < maxLength;

    private StringFrame With(int newLength, int newEscape, int newUtf8, byte newLo = 0x80, byte newHi = 0xBF) =>
        new(minLength, maxLength, newLength, newEscape, newUtf8, newLo, newHi);

    public override void Close(List<byte> into)
    {
        if (utf8 > 0)
        {
            into.Add(lo);
            for (var i = 1; i < utf8; i++) into.Add(0x80);
        }
        if (escape == Backslash) into.Add((byte)'n');
        for (var i = 0; i < escape; i++) into.Add((byte)'0');
        var counted = length + (escape != 0 ? 1 : 0);
        for (var i = counted; i < minLength; i++) into.Add((byte)'a');
        into.Add((byte)'"');
    }

    public override FrameStep Feed(byte b)
    {
        if (utf8 > 0) return b >= lo && b <= hi ? FrameStep.Replace(With(length, 0, utf8 - 1)) : FrameStep.Invalid;
        if (escape == Backslash)
        {
            if (b == (byte)'u') return FrameStep.Replace(With(length, 4, 0));
            return b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t'
                ? FrameStep.Replace(With(length + 1, 0, 0)) : FrameStep.Invalid;
        }
        if (escape > 0)
        {
            // \uXXXX: four hex digits; surrogates (D800-DFFF) are refused so the text stays valid Unicode.
            var hex = b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';
            if (!hex || (escape == 4 && b is (byte)'d' or (byte)'D')) return FrameStep.Invalid;
            return FrameStep.Replace(escape == 1 ? With(length + 1, 0, 0) : With(length, escape - 1, 0));
        }
        if (b == (byte)'"') return length >= minLength ? FrameStep.Done : FrameStep.Invalid;
        if (!Room || b < 0x20) return FrameStep.Invalid;
        if (b == (byte)'\\') return FrameStep.Replace(With(length, Backslash, 0));
        if (b < 0x80) return FrameStep.Replace(With(length + 1, 0, 0));
        // The lead byte fixes how many continuation bytes follow and the range of the first one (RFC 3629).
        return b switch
        {
            >= 0xC2 and <= 0xDF => FrameStep.Replace(With(length + 1, 0, 1)),
            0xE0 => FrameStep.Replace(With(length + 1, 0, 2, 0xA0, 0xBF)),
            0xED => FrameStep.Replace(With(length + 1, 0, 2, 0x80, 0x9F)),
            >= 0xE1 and <= 0xEF => FrameStep.Replace(With(length + 1, 0, 2)),
            0xF0 => FrameStep.Replace(With(length + 1, 0, 3, 0x90, 0xBF)),
            0xF4 => FrameStep.Replace(With(length + 1, 0, 3, 0x80, 0x8F)),
            >= 0xF1 and <= 0xF3 => FrameStep.Replace(With(length + 1, 0, 3)),
            _ => FrameStep.Invalid,
        };
    }
}

internal enum NumberPhase { Start, Minus, Zero, Int, Dot, Fraction, Exponent, ExponentSign, ExponentDigits }

/// <summary>A JSON number (or integer): -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?, ended by the first byte that cannot continue it.</summary>
internal sealed class NumberFrame(bool integer, NumberPhase phase, int digits) : JsonFrame
{
    public override bool CanEnd => phase is NumberPhase.Zero or NumberPhase.Int or NumberPhase.Fraction or NumberPhase.ExponentDigits;

    public override void Close(List<byte> into)
    {
        if (!CanEnd) into.Add((byte)'0');
    }

    public override FrameStep Feed(byte b)
    {
        var digit = b is >= (byte)'0' and <= (byte)'9';
        NumberFrame? next = phase switch
        {
            NumberPhase.Start when b == (byte)'-' => To(NumberPhase.Minus),
            NumberPhase.Start or NumberPhase.Minus when b == (byte)'0' => To(NumberPhase.Zero),
            NumberPhase.Start or NumberPhase.Minus when digit => To(NumberPhase.Int, 1),
            NumberPhase.Int when digit && digits < JsonState.MaxDigits => To(NumberPhase.Int, digits + 1),
            NumberPhase.Zero or NumberPhase.Int when b == (byte)'.' && !integer => To(NumberPhase.Dot),
            NumberPhase.Dot when digit => To(NumberPhase.Fraction, 1),
            NumberPhase.Fraction when digit && digits < JsonState.MaxDigits => To(NumberPhase.Fraction, digits + 1),
            NumberPhase.Zero or NumberPhase.Int or NumberPhase.Fraction when b is (byte)'e' or (byte)'E' && !integer => To(NumberPhase.Exponent),
            NumberPhase.Exponent when b is (byte)'+' or (byte)'-' => To(NumberPhase.ExponentSign),
            NumberPhase.Exponent or NumberPhase.ExponentSign when digit => To(NumberPhase.ExponentDigits, 1),
            NumberPhase.ExponentDigits when digit && digits < 3 => To(NumberPhase.ExponentDigits, digits + 1),
            _ => null,
        };
        if (next is not null) return FrameStep.Replace(next);
        return CanEnd ? FrameStep.DoneRefeed : FrameStep.Invalid;
    }

    private NumberFrame To(NumberPhase p, int d = 0) => new(integer, p, d);
}

internal enum ObjectPhase { AfterOpen, InKey, AfterKey, AfterColon, AfterValue, AfterComma }

/// <summary>
/// Inside an object. Declared properties: keys matched against the unwritten ones (inline, so the matched property
/// is known), '}' only once every required one is written. No properties declared: free string keys.
/// </summary>
internal sealed class ObjectFrame : JsonFrame
{
    /// <summary>An undeclared key: any string (read from its opening quote by a value frame that allows no more whitespace).</summary>
    private static readonly SchemaNode FreeKey = new() { Kinds = JsonKinds.String };

    private readonly SchemaNode _schema;
    private readonly ObjectPhase _phase;
    private readonly ulong _seen;
    private readonly int _property; // the property whose value comes next (-1: a free key)
    private readonly int _whitespace;
    private readonly IReadOnlyList<int>? _keyCandidates;
    private readonly int _keyPos;

    public ObjectFrame(SchemaNode schema, ObjectPhase phase, ulong seen, int property, int whitespace, IReadOnlyList<int>? keyCandidates = null, int keyPos = 0)
    {
        _schema = schema;
        _phase = phase;
        _seen = seen;
        _property = property;
        _whitespace = whitespace;
        _keyCandidates = keyCandidates;
        _keyPos = keyPos;
    }

    private IReadOnlyList<SchemaProperty>? Declared => _schema.Properties is { Count: > 0 } p ? p : null;

    private bool RequiredDone => Declared is not { } props || props.Select((p, i) => !p.Required || (_seen & (1UL << i)) != 0).All(x => x);

    private bool KeysLeft => Declared is not { } props || Enumerable.Range(0, props.Count).Any(i => (_seen & (1UL << i)) == 0);

    private ObjectFrame With(ObjectPhase phase, int whitespace = 0, ulong? seen = null, int? property = null, IReadOnlyList<int>? candidates = null, int keyPos = 0) =>
        new(_schema, phase, seen ?? _seen, property ?? _property, whitespace, candidates, keyPos);

    public override void Close(List<byte> into)
    {
        var props = Declared;
        // Required properties not written yet (the one whose key or value is being written counts as written).
        var missing = props is null ? [] : Enumerable.Range(0, props.Count).Where(i => props[i].Required && (_seen & (1UL << i)) == 0).ToList();
        void Member(int i)
        {
            into.AddRange(props![i].Key);
            into.Add((byte)':');
            into.AddRange(Shortest.Value(props[i].Schema));
        }
        void Rest(bool comma)
        {
            foreach (var i in missing)
            {
                if (comma) into.Add((byte)',');
                Member(i);
                comma = true;
            }
            into.Add((byte)'}');
        }
        var valueSchema = _property >= 0 ? props![_property].Schema : _schema.AdditionalProperties ?? SchemaNode.Any();
        switch (_phase)
        {
            case ObjectPhase.AfterOpen:
                Rest(false);
                break;
            case ObjectPhase.AfterComma:
                if (missing.Count > 0) { Rest(false); break; }
                if (props is not null) Member(Enumerable.Range(0, props.Count).Where(i => (_seen & (1UL << i)) == 0).MinBy(i => props[i].Key.Length));
                else { into.AddRange("\"\":"u8); into.AddRange(Shortest.Value(valueSchema)); }
                into.Add((byte)'}');
                break;
            case ObjectPhase.InKey:
            {
                var key = _keyCandidates!.MinBy(i => props![i].Key.Length);
                into.AddRange(props![key].Key.AsSpan(_keyPos));
                into.Add((byte)':');
                into.AddRange(Shortest.Value(props[key].Schema));
                missing.Remove(key);
                Rest(true);
                break;
            }
            case ObjectPhase.AfterKey:
                into.Add((byte)':');
                into.AddRange(Shortest.Value(valueSchema));
                Rest(true);
                break;
            case ObjectPhase.AfterColon:
                into.AddRange(Shortest.Value(valueSchema));
                Rest(true);
                break;
            default:
                Rest(true);
                break;
        }
    }

    private FrameStep Whitespace() =>
        _whitespace < JsonState.MaxWhitespace ? FrameStep.Replace(With(_phase, _whitespace + 1, property: _property)) : FrameStep.Invalid;

    public override FrameStep Feed(byte b)
    {
        switch (_phase)
        {
            case ObjectPhase.AfterOpen or ObjectPhase.AfterComma:
                if (IsWhitespace(b)) return Whitespace();
                if (b == (byte)'}' && _phase == ObjectPhase.AfterOpen) return RequiredDone ? FrameStep.Done : FrameStep.Invalid;
                if (b != (byte)'"' || !KeysLeft) return FrameStep.Invalid;
                if (Declared is { } declared)
                {
                    var unseen = Enumerable.Range(0, declared.Count).Where(i => (_seen & (1UL << i)) == 0).ToArray();
                    return FrameStep.Replace(With(ObjectPhase.InKey, candidates: unseen, keyPos: 1));
                }
                return FrameStep.Push(With(ObjectPhase.AfterKey, property: -1), new ValueFrame(FreeKey, JsonState.MaxWhitespace));
            case ObjectPhase.InKey:
            {
                var keys = Declared!;
                var next = _keyCandidates!.Where(i => keys[i].Key.Length > _keyPos && keys[i].Key[_keyPos] == b).ToArray();
                if (next.Length == 0) return FrameStep.Invalid;
                var done = next.FirstOrDefault(i => keys[i].Key.Length == _keyPos + 1, -1);
                if (done >= 0) return FrameStep.Replace(With(ObjectPhase.AfterKey, seen: _seen | (1UL << done), property: done));
                return FrameStep.Replace(With(ObjectPhase.InKey, candidates: next, keyPos: _keyPos + 1));
            }
            case ObjectPhase.AfterKey:
                if (IsWhitespace(b)) return Whitespace();
                return b == (byte)':' ? FrameStep.Replace(With(ObjectPhase.AfterColon)) : FrameStep.Invalid;
            case ObjectPhase.AfterColon:
            {
                var valueSchema = _property >= 0 ? Declared![_property].Schema : _schema.AdditionalProperties ?? SchemaNode.Any();
                return FrameStep.Push(With(ObjectPhase.AfterValue), new ValueFrame(valueSchema, 0));
            }
            default: // AfterValue
                if (IsWhitespace(b)) return Whitespace();
                if (b == (byte)',') return KeysLeft ? FrameStep.Replace(With(ObjectPhase.AfterComma)) : FrameStep.Invalid;
                if (b == (byte)'}') return RequiredDone ? FrameStep.Done : FrameStep.Invalid;
                return FrameStep.Invalid;
        }
    }
}

internal enum ArrayPhase { AfterOpen, AfterValue, AfterComma }

/// <summary>Inside an array: items of the item schema, between minItems and maxItems of them.</summary>
internal sealed class ArrayFrame(SchemaNode schema, ArrayPhase phase, int count, int whitespace) : JsonFrame
{
    public override void Close(List<byte> into)
    {
        var item = Shortest.Value(schema.Items ?? SchemaNode.Any());
        var written = count;
        var comma = phase == ArrayPhase.AfterValue;
        if (phase == ArrayPhase.AfterComma)
        {
            into.AddRange(item);
            written++;
            comma = true;
        }
        for (; written < schema.MinItems; written++)
        {
            if (comma) into.Add((byte)',');
            into.AddRange(item);
            comma = true;
        }
        into.Add((byte)']');
    }

    public override FrameStep Feed(byte b)
    {
        var items = schema.Items ?? SchemaNode.Any();
        switch (phase)
        {
            case ArrayPhase.AfterOpen:
                if (IsWhitespace(b)) return whitespace < JsonState.MaxWhitespace ? FrameStep.Replace(new ArrayFrame(schema, phase, count, whitespace + 1)) : FrameStep.Invalid;
                if (b == (byte)']') return schema.MinItems == 0 ? FrameStep.Done : FrameStep.Invalid;
                return schema.MaxItems == 0 ? FrameStep.Invalid : FrameStep.Push(new ArrayFrame(schema, ArrayPhase.AfterValue, count + 1, 0), new ValueFrame(items, 0));
            case ArrayPhase.AfterComma:
                return FrameStep.Push(new ArrayFrame(schema, ArrayPhase.AfterValue, count + 1, 0), new ValueFrame(items, 0));
            default:
                if (IsWhitespace(b)) return whitespace < JsonState.MaxWhitespace ? FrameStep.Replace(new ArrayFrame(schema, phase, count, whitespace + 1)) : FrameStep.Invalid;
                if (b == (byte)',') return schema.MaxItems is null || count < schema.MaxItems ? FrameStep.Replace(new ArrayFrame(schema, ArrayPhase.AfterComma, count, 0)) : FrameStep.Invalid;
                if (b == (byte)']') return count >= schema.MinItems ? FrameStep.Done : FrameStep.Invalid;
                return FrameStep.Invalid;
        }
    }
}

/// <summary>The shortest JSON text that fits a schema node (what constrained decoding writes when the token budget runs out).</summary>
internal static class Shortest
{
    public static byte[] Value(SchemaNode s)
    {
        if (s.Literals is { } literals) return literals.MinBy(l => l.Length)!;
        var k = s.Kinds;
        byte[]? best = null;
        void Offer(byte[] b)
        {
            if (best is null || b.Length < best.Length) best = b;
        }
        if ((k & (JsonKinds.Integer | JsonKinds.Number)) != 0) return "0"u8.ToArray();
        if ((k & JsonKinds.String) != 0) Offer([(byte)'"', .. Enumerable.Repeat((byte)'a', s.MinLength), (byte)'"']);
        if ((k & JsonKinds.Array) != 0 && s.MinItems == 0) Offer("[]"u8.ToArray());
        if ((k & JsonKinds.Object) != 0 && s.Properties?.Any(p => p.Required) != true) Offer("{}"u8.ToArray());
        if ((k & JsonKinds.Null) != 0) Offer("null"u8.ToArray());
        if ((k & JsonKinds.Boolean) != 0) Offer("true"u8.ToArray());
        if (best is not null) return best;
        if ((k & JsonKinds.Array) != 0)
        {
            var item = Value(s.Items ?? SchemaNode.Any());
            var list = new List<byte> { (byte)'[' };
            for (var i = 0; i < s.MinItems; i++)
            {
                if (i > 0) list.Add((byte)',');
                list.AddRange(item);
            }
            list.Add((byte)']');
            Offer([.. list]);
        }
        if ((k & JsonKinds.Object) != 0)
        {
            var list = new List<byte> { (byte)'{' };
            foreach (var p in s.Properties!.Where(p => p.Required))
            {
                if (list.Count > 1) list.Add((byte)',');
                list.AddRange(p.Key);
                list.Add((byte)':');
                list.AddRange(Value(p.Schema));
            }
            list.Add((byte)'}');
            Offer([.. list]);
        }
        return best ?? "null"u8.ToArray();
    }
}
