using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MultimodalHub.Inference.Text.Jinja;

/// <summary>Jinja's Undefined: renders as "", is falsy, and "is defined" is false.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Instance = new();
    private Undefined() { }
    public override string ToString() => "";
}

/// <summary>namespace(...): the one mutable object a template can assign attributes on across loop scopes.</summary>
internal sealed class Namespace(Dictionary<string, object?> values)
{
    public Dictionary<string, object?> Values { get; } = values;
}

/// <summary>A callable value (global function, bound method, macro).</summary>
internal delegate object? JinjaCallable(List<object?> args, Dictionary<string, object?> kwargs);

/// <summary>Python-flavoured value semantics of Jinja: truthiness, str(), equality, comparisons, JSON.</summary>
internal static class JinjaValues
{
    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        ICollection c => c.Count > 0,
        _ => true,
    };

    /// <summary>Python str(): what {{ x }} prints.</summary>
    public static string Str(object? v) => v switch
    {
        null => "None",
        Undefined => "",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        _ => Repr(v),
    };

    /// <summary>Python repr(): how values print inside lists and dicts.</summary>
    public static string Repr(object? v) => Repr(v, 0);

    /// <summary>Deepest nesting of lists/dicts that repr, tojson and == walk (a list that contains itself is infinitely deep).</summary>
    public const int MaxNesting = 256;

    private static int Deeper(int depth) =>
        depth < MaxNesting ? depth + 1 : throw new JinjaRuntimeException($"value nested more than {MaxNesting} levels deep (does a list or dict contain itself?)");

    private static string Repr(object? v, int depth) => v switch
    {
        string s => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'").Replace("\n", "\\n") + "'",
        List<object?> list => "[" + string.Join(", ", list.Select(x => Repr(x, Deeper(depth)))) + "]",
        Dictionary<string, object?> dict => "{" + string.Join(", ", dict.Select(kv => Repr(kv.Key, depth) + ": " + Repr(kv.Value, Deeper(depth)))) + "}",
        Namespace ns => "<Namespace " + Repr(ns.Values, Deeper(depth)) + ">",
        JinjaCallable => "<function>",
        _ => Str(v),
    };

    private static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        return r.Contains('.') || r.Contains('E') ? r : r + ".0";
    }

    public static new bool Equals(object? a, object? b) => Equals(a, b, 0);

    private static bool Equals(object? a, object? b, int depth)
    {
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b);
        if (a is string sa && b is string sb) return string.Equals(sa, sb, StringComparison.Ordinal);
        if (a is List<object?> la && b is List<object?> lb) return la.Count == lb.Count && la.Zip(lb).All(p => Equals(p.First, p.Second, Deeper(depth)));
        if (a is Dictionary<string, object?> da && b is Dictionary<string, object?> db)
            return da.Count == db.Count && da.All(kv => db.TryGetValue(kv.Key, out var o) && Equals(kv.Value, o, Deeper(depth)));
        return ReferenceEquals(a, b) || a.Equals(b);
    }

    public static int Compare(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a).CompareTo(ToDouble(b));
        if (a is string sa && b is string sb) return string.CompareOrdinal(sa, sb);
        throw new JinjaRuntimeException($"cannot compare {TypeName(a)} with {TypeName(b)}");
    }

    public static bool IsNumber(object? v) => v is long or double || v is bool;
    public static double ToDouble(object? v) => v switch { long l => l, double d => d, bool b => b ? 1 : 0, _ => throw new JinjaRuntimeException($"expected a number, got {TypeName(v)}") };

    public static string TypeName(object? v) => v switch
    {
        null => "none",
        Undefined => "undefined",
        string => "string",
        bool => "boolean",
        long => "integer",
        double => "float",
        List<object?> => "list",
        Dictionary<string, object?> => "dict",
        Namespace => "namespace",
        JinjaCallable => "function",
        _ => v.GetType().Name,
    };

    /// <summary>Items of an iterable: list items, dict keys, string characters.</summary>
    public static List<object?> Iterate(object? v) => v switch
    {
        List<object?> list => list,
        Dictionary<string, object?> dict => [.. dict.Keys],
        string s => [.. StringElements(s)],
        null or Undefined => throw new JinjaRuntimeException($"{TypeName(v)} is not iterable"),
        _ => throw new JinjaRuntimeException($"{TypeName(v)} is not iterable"),
    };

    private static IEnumerable<object?> StringElements(string s)
    {
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
            yield return char.IsSurrogatePair(s, i) ? s.Substring(i, 2) : s[i].ToString();
    }

    /// <summary>Converts CLR / JSON values given by callers (messages, tools, extra variables) to template values.</summary>
    public static object? FromClr(object? v) => v switch
    {
        null => null,
        string or bool or long or double or Undefined or Namespace or JinjaCallable => v,
        int i => (long)i,
        float f => (double)f,
        decimal m => (double)m,
        JsonElement e => FromJson(e),
        IDictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => FromClr(kv.Value)),
        IReadOnlyDictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => FromClr(kv.Value)),
        IEnumerable e => e.Cast<object?>().Select(FromClr).ToList(),
        _ => v.ToString(),
    };

    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value)),
        _ => null,
    };

    /// <summary>transformers' tojson filter: json.dumps(x, ensure_ascii=False, indent=indent) with Python's default separators.</summary>
    public static string ToJson(object? v, int? indent)
    {
        var sb = new StringBuilder();
        WriteJson(sb, v, indent, 0);
        return sb.ToString();
    }

    private static void WriteJson(StringBuilder sb, object? v, int? indent, int level)
    {
        if (level > MaxNesting) Deeper(level);
        switch (v)
        {
            case null or Undefined: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(double.IsFinite(d) ? FloatRepr(d) : d > 0 ? "Infinity" : d < 0 ? "-Infinity" : "NaN"); break;
            case string s: WriteJsonString(sb, s); break;
            case List<object?> list: WriteContainer(sb, '[', ']', list, indent, level, (x, lv) => WriteJson(sb, x, indent, lv)); break;
            case Dictionary<string, object?> dict:
                WriteContainer(sb, '{', '}', dict.ToList(), indent, level, (kv, lv) => { WriteJsonString(sb, kv.Key); sb.Append(": "); WriteJson(sb, kv.Value, indent, lv); });
                break;
            case Namespace ns: WriteJson(sb, ns.Values, indent, Deeper(level)); break;
            default: WriteJsonString(sb, Str(v)); break;
        }
    }

    private static void WriteContainer<T>(StringBuilder sb, char open, char close, List<T> items, int? indent, int level, Action<T, int> write)
    {
        sb.Append(open);
        if (items.Count == 0) { sb.Append(close); return; }
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(indent is null ? ", " : ",");
            if (indent is { } n) sb.Append('\n').Append(' ', n * (level + 1));
            write(items[i], level + 1);
        }
        if (indent is { } m) sb.Append('\n').Append(' ', m * level);
        sb.Append(close);
    }

    private static void WriteJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}

/// <summary>An error while rendering (wrong types, undefined calls…); the message names the problem.</summary>
public sealed class JinjaRuntimeException(string message) : InvalidOperationException(message);
