using System.Globalization;
using System.Text;
using static MultimodalHub.Inference.Text.Jinja.JinjaValues;

namespace MultimodalHub.Inference.Text.Jinja;

/// <summary>Operators, attribute/item access, methods, filters and tests of the interpreter.</summary>
internal static class JinjaBuiltins
{
    /// <summary>Largest string or list (characters or items) that s * n / list * n may build.</summary>
    private const long MaxRepeatedLength = 1 << 24;

    private static int RepeatCount(int length, long n)
    {
        if (n <= 0) return 0;
        if (length > 0 && n > MaxRepeatedLength / length) throw new JinjaRuntimeException($"repeating {length} items {n} times is too large");
        return (int)Math.Min(n, MaxRepeatedLength);
    }

    public static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case Dictionary<string, object?> d:
                if (d.TryGetValue(name, out var v)) return v;
                return (object?)DictMethod(d, name) ?? Undefined.Instance;
            case Namespace ns: return ns.Values.TryGetValue(name, out var nv) ? nv : Undefined.Instance;
            case string s: return (object?)StringMethod(s, name) ?? Undefined.Instance;
            case List<object?> list: return (object?)ListMethod(list, name) ?? Undefined.Instance;
            case Undefined: throw new JinjaRuntimeException($"cannot read attribute '{name}' of an undefined value");
            case null: throw new JinjaRuntimeException($"cannot read attribute '{name}' of none");
            default: return Undefined.Instance;
        }
    }

    public static object? GetItem(object? target, object? index)
    {
        switch (target)
        {
            case Dictionary<string, object?> d:
                return index is string key && d.TryGetValue(key, out var v) ? v : index is not string ? (d.TryGetValue(Str(index), out var v2) ? v2 : Undefined.Instance) : Undefined.Instance;
            case Namespace ns: return index is string k && ns.Values.TryGetValue(k, out var nv) ? nv : Undefined.Instance;
            case List<object?> list:
            {
                long i = JinjaTemplate.ToLong(index);
                if (i < 0) i += list.Count;
                return i >= 0 && i < list.Count ? list[(int)i] : Undefined.Instance;
            }
            case string s:
            {
                if (index is string name) return GetAttribute(s, name);
                long i = JinjaTemplate.ToLong(index);
                if (i < 0) i += s.Length;
                return i >= 0 && i < s.Length ? s[(int)i].ToString() : Undefined.Instance;
            }
            case Undefined: throw new JinjaRuntimeException($"cannot index an undefined value with {Repr(index)}");
            case null: throw new JinjaRuntimeException($"cannot index none with {Repr(index)}");
            default: return Undefined.Instance;
        }
    }

    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        List<object?> items = target switch
        {
            List<object?> l => l,
            string s => [.. s.Select(c => (object?)c.ToString())],
            _ => throw new JinjaRuntimeException($"cannot slice {TypeName(target)}"),
        };
        int n = items.Count;
        long st = step is null or Undefined ? 1 : JinjaTemplate.ToLong(step);
        if (st == 0) throw new JinjaRuntimeException("slice step cannot be zero");
        long Norm(object? v, long dflt)
        {
            if (v is null or Undefined) return dflt;
            long x = JinjaTemplate.ToLong(v);
            if (x < 0) x += n;
            return st > 0 ? Math.Clamp(x, 0, n) : Math.Clamp(x, -1, n - 1);
        }
        long a = Norm(start, st > 0 ? 0 : n - 1), b = Norm(stop, st > 0 ? n : -1);
        var result = new List<object?>();
        for (long i = a; st > 0 ? i < b : i > b; i += st) result.Add(items[(int)i]);
        return target is string ? string.Concat(result.Select(Str)) : result;
    }

    public static object? Binary(string op, object? a, object? b)
    {
        switch (op)
        {
            case "==": return JinjaValues.Equals(a, b);
            case "!=": return !JinjaValues.Equals(a, b);
            case "<": return Compare(a, b) < 0;
            case ">": return Compare(a, b) > 0;
            case "<=": return Compare(a, b) <= 0;
            case ">=": return Compare(a, b) >= 0;
            case "in": return Contains(b, a);
            case "not in": return !Contains(b, a);
            case "~": return Str(a) + Str(b);
            case "+":
                if (a is string sa && b is string sb) return sa + sb;
                if (a is List<object?> la && b is List<object?> lb) return (List<object?>)[.. la, .. lb];
                if (IsNumber(a) && IsNumber(b)) return a is double || b is double ? (object)(ToDouble(a) + ToDouble(b)) : JinjaTemplate.ToLong(a) + JinjaTemplate.ToLong(b);
                throw new JinjaRuntimeException($"cannot add {TypeName(a)} and {TypeName(b)}");
            case "-": return Arith(a, b, (x, y) => x - y, (x, y) => x - y);
            case "*":
                if (a is string s1 && b is long n1) return string.Concat(Enumerable.Repeat(s1, RepeatCount(s1.Length, n1)));
                if (a is List<object?> l1 && b is long n2) return Enumerable.Range(0, RepeatCount(l1.Count, n2)).SelectMany(_ => l1).ToList();
                return Arith(a, b, (x, y) => x * y, (x, y) => x * y);
            case "/": return ToDouble(a) / ToDouble(b);
            case "//":
                if (a is long x1 && b is long y1) return y1 == 0 ? throw new JinjaRuntimeException("division by zero") : (long)Math.Floor((double)x1 / y1);
                return Math.Floor(ToDouble(a) / ToDouble(b));
            case "%":
                if (a is long x2 && b is long y2) return y2 == 0 ? throw new JinjaRuntimeException("modulo by zero") : ((x2 % y2) + y2) % y2;
                return ToDouble(a) % ToDouble(b);
            case "**": return a is long x3 && b is long y3 && y3 >= 0 ? (object)(long)Math.Pow(x3, y3) : Math.Pow(ToDouble(a), ToDouble(b));
            default: throw new JinjaRuntimeException($"unknown operator {op}");
        }
    }

    private static object Arith(object? a, object? b, Func<long, long, long> ints, Func<double, double, double> doubles) =>
        a is long x && b is long y ? (object)ints(x, y) : doubles(ToDouble(a), ToDouble(b));

    private static bool Contains(object? container, object? item) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw new JinjaRuntimeException("'in <string>' requires a string"),
        List<object?> l => l.Any(x => JinjaValues.Equals(x, item)),
        Dictionary<string, object?> d => item is string k && d.ContainsKey(k),
        Namespace ns => item is string k2 && ns.Values.ContainsKey(k2),
        Undefined or null => false,
        _ => throw new JinjaRuntimeException($"'in' is not supported for {TypeName(container)}"),
    };

    // ---- methods
    private static JinjaCallable? DictMethod(Dictionary<string, object?> d, string name) => name switch
    {
        "items" => (_, _) => d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
        "keys" => (_, _) => d.Keys.Select(k => (object?)k).ToList(),
        "values" => (_, _) => d.Values.ToList(),
        "get" => (args, _) => args.Count > 0 && args[0] is string k && d.TryGetValue(k, out var v) ? v : args.Count > 1 ? args[1] : null,
        _ => null,
    };

    private static JinjaCallable? ListMethod(List<object?> list, string name) => name switch
    {
        "append" => (args, _) => Append(list, args.Count > 0 ? args[0] : null),
        "index" => (args, _) => (long)list.FindIndex(x => JinjaValues.Equals(x, args[0])),
        "count" => (args, _) => (long)list.Count(x => JinjaValues.Equals(x, args[0])),
        _ => null,
    };

    private static object? Append(List<object?> list, object? item)
    {
        list.Add(item);
        return null;
    }

    private static JinjaCallable? StringMethod(string s, string name) => name switch
    {
        "strip" => (args, _) => args.Count > 0 && args[0] is string c ? s.Trim(c.ToCharArray()) : s.Trim(),
        "lstrip" => (args, _) => args.Count > 0 && args[0] is string c ? s.TrimStart(c.ToCharArray()) : s.TrimStart(),
        "rstrip" => (args, _) => args.Count > 0 && args[0] is string c ? s.TrimEnd(c.ToCharArray()) : s.TrimEnd(),
        "lower" => (_, _) => s.ToLowerInvariant(),
        "upper" => (_, _) => s.ToUpperInvariant(),
        "title" => (_, _) => Title(s),
        "capitalize" => (_, _) => Capitalize(s),
        "startswith" => (args, _) => Affix(args, p => s.StartsWith(p, StringComparison.Ordinal)),
        "endswith" => (args, _) => Affix(args, p => s.EndsWith(p, StringComparison.Ordinal)),
        "replace" => (args, _) => s.Replace(Str(args[0]), Str(args[1]), StringComparison.Ordinal),
        "find" => (args, _) => (long)s.IndexOf(Str(args[0]), StringComparison.Ordinal),
        "count" => (args, _) => (long)(Str(args[0]).Length == 0 ? s.Length + 1 : (s.Length - s.Replace(Str(args[0]), "", StringComparison.Ordinal).Length) / Str(args[0]).Length),
        "split" => (args, _) => Split(s, args),
        "join" => (args, _) => string.Join(s, Iterate(args[0]).Select(Str)),
        "format" => (args, _) => FormatBraces(s, args),
        _ => null,
    };

    private static bool Affix(List<object?> args, Func<string, bool> test) =>
        args.Count > 0 && (args[0] is List<object?> options ? options.Any(o => test(Str(o))) : test(Str(args[0])));

    private static List<object?> Split(string s, List<object?> args)
    {
        int max = args.Count > 1 ? (int)JinjaTemplate.ToLong(args[1]) : -1;
        if (args.Count == 0 || args[0] is null)
            return [.. s.Split((char[]?)null, max < 0 ? int.MaxValue : max + 1, StringSplitOptions.RemoveEmptyEntries).Select(x => (object?)x)];
        return [.. s.Split(Str(args[0]), max < 0 ? int.MaxValue : max + 1).Select(x => (object?)x)];
    }

    private static string FormatBraces(string s, List<object?> args)
    {
        int k = 0;
        return System.Text.RegularExpressions.Regex.Replace(s, @"\{(\d*)\}", m => Str(m.Groups[1].Value.Length > 0 ? args[int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)] : args[k++]));
    }

    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool start = true;
        foreach (char c in s) { sb.Append(start ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c)); start = !char.IsLetterOrDigit(c); }
        return sb.ToString();
    }

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    // ---- filters
    public static object? Filter(string name, object? v, List<object?> args, Dictionary<string, object?> kwargs)
    {
        object? Arg(int i, string kw, object? dflt = null) => i < args.Count ? args[i] : kwargs.TryGetValue(kw, out var x) ? x : dflt;
        switch (name)
        {
            case "trim": return Arg(0, "chars") is string chars ? Str(v).Trim(chars.ToCharArray()) : Str(v).Trim();
            case "length" or "count":
                return v switch
                {
                    string s => (long)s.Length,
                    List<object?> l => (long)l.Count,
                    Dictionary<string, object?> d => (long)d.Count,
                    Undefined => 0L,
                    _ => throw new JinjaRuntimeException($"{TypeName(v)} has no length"),
                };
            case "lower": return Str(v).ToLowerInvariant();
            case "upper": return Str(v).ToUpperInvariant();
            case "title": return Title(Str(v));
            case "capitalize": return Capitalize(Str(v));
            case "string": return Str(v);
            case "safe" or "e" or "escape" or "forceescape": return v is string ? v : Str(v);
            case "int": try { return v is double d ? (long)d : JinjaTemplate.ToLong(v is string s ? s.Trim() : v); } catch (JinjaRuntimeException) { return Arg(0, "default", 0L); }
            case "float": return v is string fs && double.TryParse(fs, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) ? f : IsNumber(v) ? ToDouble(v) : Arg(0, "default", 0.0);
            case "abs": return v is long al ? (object)Math.Abs(al) : Math.Abs(ToDouble(v));
            case "round": return Math.Round(ToDouble(v), (int)Math.Clamp(JinjaTemplate.ToLong(Arg(0, "precision", 0L)), 0, 15), MidpointRounding.ToEven);
            case "first": { var items = Iterate(v); return items.Count > 0 ? items[0] : Undefined.Instance; }
            case "last": { var items = Iterate(v); return items.Count > 0 ? items[^1] : Undefined.Instance; }
            case "list": return Iterate(v).ToList();
            case "reverse": return v is string rs ? new string(rs.Reverse().ToArray()) : Enumerable.Reverse(Iterate(v)).ToList();
            case "unique": return Iterate(v).Aggregate(new List<object?>(), (acc, x) => { if (!acc.Any(y => JinjaValues.Equals(x, y))) acc.Add(x); return acc; });
            case "sort": { var items = Iterate(v).ToList(); items.Sort(Compare); if (Truthy(Arg(0, "reverse", false))) items.Reverse(); return items; }
            case "join":
            {
                var items = Iterate(v);
                if (Arg(1, "attribute") is string attr) items = items.Select(x => GetAttribute(x, attr)).ToList();
                return string.Join(Str(Arg(0, "d", "")), items.Select(Str));
            }
            case "default" or "d":
            {
                var dflt = Arg(0, "default_value", "");
                bool boolean = Truthy(Arg(1, "boolean", false));
                return v is Undefined || (boolean && !Truthy(v)) ? dflt : v;
            }
            case "replace": return Str(v).Replace(Str(Arg(0, "old")), Str(Arg(1, "new")), StringComparison.Ordinal);
            case "tojson":
            {
                var indent = Arg(0, "indent");
                long? n = indent is null or Undefined ? null : JinjaTemplate.ToLong(indent);
                if (n is < 0 or > 64) throw new JinjaRuntimeException($"tojson indent must be between 0 and 64, not {n}");
                return ToJson(v, (int?)n);
            }
            case "items": return v is Dictionary<string, object?> d2 ? d2.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList() : throw new JinjaRuntimeException("items needs a dict");
            case "dictsort": return v is Dictionary<string, object?> d3 ? d3.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList() : throw new JinjaRuntimeException("dictsort needs a dict");
            case "map":
            {
                var items = Iterate(v);
                if (Arg(-1, "attribute") is string attr) return items.Select(x => GetAttribute(x, attr) is Undefined && kwargs.TryGetValue("default", out var dv) ? dv : GetAttribute(x, attr)).ToList();
                if (args.Count > 0 && args[0] is string filterName) return items.Select(x => Filter(filterName, x, args.Skip(1).ToList(), [])).ToList();
                throw new JinjaRuntimeException("map needs attribute= or a filter name");
            }
            case "selectattr" or "rejectattr":
            {
                bool select = name == "selectattr";
                string attr = Str(Arg(0, "attr"));
                return Iterate(v).Where(x =>
                {
                    var a = GetAttribute(x, attr);
                    bool ok = args.Count > 1 ? Test(Str(args[1]), a, args.Skip(2).ToList()) : Truthy(a);
                    return ok == select;
                }).ToList();
            }
            case "select" or "reject":
            {
                bool select = name == "select";
                return Iterate(v).Where(x => (args.Count > 0 ? Test(Str(args[0]), x, args.Skip(1).ToList()) : Truthy(x)) == select).ToList();
            }
            case "indent":
            {
                var width = JinjaTemplate.ToLong(Arg(0, "width", 4L));
                if (width is < 0 or > 1024) throw new JinjaRuntimeException($"indent width must be between 0 and 1024, not {width}");
                bool first = Truthy(Arg(1, "first", false));
                string pad = new(' ', (int)width);
                var lines = Str(v).Split('\n');
                return string.Join("\n", lines.Select((line, i) => (i == 0 && !first) || line.Length == 0 ? line : pad + line));
            }
            case "wordcount": return (long)Str(v).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
            case "min": return Iterate(v).OrderBy(x => x, Comparer<object?>.Create(Compare)).FirstOrDefault();
            case "max": return Iterate(v).OrderBy(x => x, Comparer<object?>.Create(Compare)).LastOrDefault();
            case "sum": return Iterate(v).Aggregate((object?)0L, (acc, x) => Binary("+", acc, x));
            default: throw new JinjaRuntimeException($"unknown filter '{name}'");
        }
    }

    // ---- tests
    public static bool Test(string name, object? v, List<object?> args) => name switch
    {
        "defined" => v is not Undefined,
        "undefined" => v is Undefined,
        "none" => v is null,
        "string" => v is string,
        "number" => v is long or double,
        "integer" => v is long,
        "float" => v is double,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "mapping" => v is Dictionary<string, object?> or Namespace,
        "iterable" => v is string or List<object?> or Dictionary<string, object?>,
        "sequence" => v is string or List<object?> or Dictionary<string, object?>,
        "callable" => v is JinjaCallable,
        "even" => JinjaTemplate.ToLong(v) % 2 == 0,
        "odd" => JinjaTemplate.ToLong(v) % 2 != 0,
        "divisibleby" => JinjaTemplate.ToLong(v) % JinjaTemplate.ToLong(args[0]) == 0,
        "eq" or "equalto" or "==" => JinjaValues.Equals(v, args[0]),
        "ne" or "!=" => !JinjaValues.Equals(v, args[0]),
        "lt" or "lessthan" => Compare(v, args[0]) < 0,
        "le" => Compare(v, args[0]) <= 0,
        "gt" or "greaterthan" => Compare(v, args[0]) > 0,
        "ge" => Compare(v, args[0]) >= 0,
        "in" => Contains(args[0], v),
        "sameas" => ReferenceEquals(v, args[0]) || (v is null && args[0] is null) || (v is bool b && args[0] is bool b2 && b == b2),
        "lower" => string.Equals(Str(v), Str(v).ToLowerInvariant(), StringComparison.Ordinal),
        "upper" => string.Equals(Str(v), Str(v).ToUpperInvariant(), StringComparison.Ordinal),
        _ => throw new JinjaRuntimeException($"unknown test '{name}'"),
    };
}
