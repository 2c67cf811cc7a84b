using System.Globalization;
using System.Text;

namespace MultimodalHub.Inference.Text.Jinja;

/// <summary>Thrown by the template's raise_exception(message): the template rejects the conversation.</summary>
public sealed class TemplateRaisedException(string message) : InvalidOperationException(message);

/// <summary>
/// A parsed Jinja template and its interpreter: the subset of Jinja2 that Hugging Face chat templates use
/// (transformers renders them with trim_blocks, lstrip_blocks and loop controls; raise_exception, strftime_now and
/// tojson as globals/filters). Parsing happens once; Render is thread-safe.
/// </summary>
public sealed class JinjaTemplate
{
    private const int MaxOutputChars = 16 * 1024 * 1024;
    private const int MaxLoopIterations = 1_000_000;

    /// <summary>Nodes + expressions nested while rendering (a real chat template stays under ~50).</summary>
    private const int MaxEvalDepth = 1024;

    /// <summary>Macro calls nested (recursive macros render nested tool schemas, a few levels deep).</summary>
    private const int MaxMacroDepth = 256;

    private readonly IReadOnlyList<Node> _nodes;

    public JinjaTemplate(string source) => _nodes = JinjaParser.Parse(source);

    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        var run = new Run();
        var globals = Globals();
        foreach (var (k, v) in variables) globals[k] = JinjaValues.FromClr(v);
        run.Scopes.Add(globals);
        run.Scopes.Add([]);
        run.Exec(_nodes);
        return run.Output.ToString();
    }

    private static Dictionary<string, object?> Globals() => new()
    {
        ["raise_exception"] = (JinjaCallable)((args, _) => throw new TemplateRaisedException(args.Count > 0 ? JinjaValues.Str(args[0]) : "raise_exception called")),
        ["range"] = (JinjaCallable)((args, _) =>
        {
            long start = 0, stop, step = 1;
            if (args.Count == 1) stop = ToLong(args[0]);
            else { start = ToLong(args[0]); stop = ToLong(args[1]); if (args.Count > 2) step = ToLong(args[2]); }
            if (step == 0) throw new JinjaRuntimeException("range() step must not be zero");
            var list = new List<object?>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) { list.Add(i); if (list.Count > MaxLoopIterations) throw new JinjaRuntimeException("range too large"); }
            return list;
        }),
        ["namespace"] = (JinjaCallable)((args, kwargs) =>
        {
            var values = new Dictionary<string, object?>();
            foreach (var a in args) if (a is Dictionary<string, object?> d) foreach (var (k, v) in d) values[k] = v;
            foreach (var (k, v) in kwargs) values[k] = v;
            return new Namespace(values);
        }),
        ["dict"] = (JinjaCallable)((_, kwargs) => new Dictionary<string, object?>(kwargs)),
        ["strftime_now"] = (JinjaCallable)((args, _) => Strftime(DateTime.Now, args.Count > 0 ? JinjaValues.Str(args[0]) : "%Y-%m-%d")),
    };

    internal static long ToLong(object? v) => v switch
    {
        long l => l,
        double d => (long)d,
        bool b => b ? 1 : 0,
        string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long p) => p,
        _ => throw new JinjaRuntimeException($"expected an integer, got {JinjaValues.TypeName(v)}"),
    };

    private static string Strftime(DateTime t, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            char c = format[++i];
            sb.Append(c switch
            {
                'd' => t.ToString("dd", CultureInfo.InvariantCulture),
                'm' => t.ToString("MM", CultureInfo.InvariantCulture),
                'Y' => t.ToString("yyyy", CultureInfo.InvariantCulture),
                'y' => t.ToString("yy", CultureInfo.InvariantCulture),
                'b' => t.ToString("MMM", CultureInfo.InvariantCulture),
                'B' => t.ToString("MMMM", CultureInfo.InvariantCulture),
                'a' => t.ToString("ddd", CultureInfo.InvariantCulture),
                'A' => t.ToString("dddd", CultureInfo.InvariantCulture),
                'H' => t.ToString("HH", CultureInfo.InvariantCulture),
                'M' => t.ToString("mm", CultureInfo.InvariantCulture),
                'S' => t.ToString("ss", CultureInfo.InvariantCulture),
                'j' => t.DayOfYear.ToString("000", CultureInfo.InvariantCulture),
                '%' => "%",
                _ => "%" + c,
            });
        }
        return sb.ToString();
    }

    private sealed class BreakSignal : Exception;
    private sealed class ContinueSignal : Exception;

    /// <summary>The state of one rendering: output and the scope stack.</summary>
    private sealed class Run
    {
        public readonly StringBuilder Output = new();
        public readonly List<Dictionary<string, object?>> Scopes = [];
        private int _iterations;

        public void Exec(IReadOnlyList<Node> nodes)
        {
            foreach (var node in nodes) Exec(node);
        }

        private void Write(string s)
        {
            Output.Append(s);
            if (Output.Length > MaxOutputChars) throw new JinjaRuntimeException("template output too large");
        }

        /// <summary>Nodes and expressions being evaluated, nested; macro calls nested.</summary>
        private int _depth, _macroDepth;

        /// <summary>
        /// One level deeper: past the limit (a macro calling itself, absurd nesting) a runtime error, and never so
        /// deep that the thread's stack could overflow (which would end the process).
        /// </summary>
        private void Enter()
        {
            if (++_depth > MaxEvalDepth) throw new JinjaRuntimeException($"template evaluation nested more than {MaxEvalDepth} levels deep");
            if (!System.Runtime.CompilerServices.RuntimeHelpers.TryEnsureSufficientExecutionStack())
                throw new JinjaRuntimeException("template evaluation nested too deeply for the stack");
        }

        private void Exec(Node node)
        {
            Enter();
            try { ExecNode(node); }
            finally { _depth--; }
        }

        private void ExecNode(Node node)
        {
            switch (node)
            {
                case TextNode t: Write(t.Text); break;
                case OutputNode o: Write(JinjaValues.Str(Eval(o.Value))); break;
                case IfNode i:
                    foreach (var (condition, body) in i.Branches)
                        if (JinjaValues.Truthy(Eval(condition))) { Exec(body); return; }
                    if (i.Else is not null) Exec(i.Else);
                    break;
                case ForNode f: ExecFor(f); break;
                case SetNode s: ExecSet(s); break;
                case MacroNode m: Scopes[^1][m.Name] = MakeMacro(m); break;
                case BreakNode: throw new BreakSignal();
                case ContinueNode: throw new ContinueSignal();
                default: throw new JinjaRuntimeException($"unknown node {node.GetType().Name}");
            }
        }

        private void ExecFor(ForNode f)
        {
            var items = JinjaValues.Iterate(Eval(f.Iterable));
            if (f.Filter is not null)
            {
                var kept = new List<object?>();
                foreach (var item in items)
                {
                    Scopes.Add([]);
                    try { Bind(f.Targets, item); if (JinjaValues.Truthy(Eval(f.Filter))) kept.Add(item); }
                    finally { Scopes.RemoveAt(Scopes.Count - 1); }
                }
                items = kept;
            }
            if (items.Count == 0) { if (f.Else is not null) Exec(f.Else); return; }
            items = [.. items]; // the body may change the list it iterates
            for (int i = 0; i < items.Count; i++)
            {
                if (++_iterations > MaxLoopIterations) throw new JinjaRuntimeException("too many loop iterations");
                var scope = new Dictionary<string, object?> { ["loop"] = LoopInfo(items, i) };
                Scopes.Add(scope);
                try
                {
                    Bind(f.Targets, items[i]);
                    Exec(f.Body);
                }
                catch (ContinueSignal) { }
                catch (BreakSignal) { break; }
                finally { Scopes.RemoveAt(Scopes.Count - 1); }
            }
        }

        private static Dictionary<string, object?> LoopInfo(List<object?> items, int i) => new()
        {
            ["index"] = (long)(i + 1),
            ["index0"] = (long)i,
            ["revindex"] = (long)(items.Count - i),
            ["revindex0"] = (long)(items.Count - i - 1),
            ["first"] = i == 0,
            ["last"] = i == items.Count - 1,
            ["length"] = (long)items.Count,
            ["previtem"] = i > 0 ? items[i - 1] : Undefined.Instance,
            ["nextitem"] = i < items.Count - 1 ? items[i + 1] : Undefined.Instance,
            ["cycle"] = (JinjaCallable)((args, _) => args.Count == 0 ? Undefined.Instance : args[i % args.Count]),
        };

        private void Bind(IReadOnlyList<string> targets, object? value)
        {
            if (targets.Count == 1) { Scopes[^1][targets[0]] = value; return; }
            var parts = JinjaValues.Iterate(value);
            if (parts.Count != targets.Count) throw new JinjaRuntimeException($"cannot unpack {parts.Count} values into {targets.Count} names");
            for (int k = 0; k < targets.Count; k++) Scopes[^1][targets[k]] = parts[k];
        }

        private void ExecSet(SetNode s)
        {
            object? value;
            if (s.Body is not null)
            {
                int mark = Output.Length;
                Exec(s.Body);
                value = Output.ToString(mark, Output.Length - mark);
                Output.Length = mark;
            }
            else value = Eval(s.Value!);

            if (s.Attribute is not null)
            {
                if (Lookup(s.Targets[0]) is not Namespace ns) throw new JinjaRuntimeException($"cannot set attribute '{s.Attribute}' on '{s.Targets[0]}': it is not a namespace");
                ns.Values[s.Attribute] = value;
                return;
            }
            Bind(s.Targets, value);
        }

        private JinjaCallable MakeMacro(MacroNode m) => (args, kwargs) =>
        {
            var scope = new Dictionary<string, object?>();
            for (int k = 0; k < m.Parameters.Count; k++)
            {
                var (name, def) = m.Parameters[k];
                scope[name] = k < args.Count ? args[k] : kwargs.TryGetValue(name, out var kw) ? kw : def is null ? Undefined.Instance : Eval(def);
            }
            if (++_macroDepth > MaxMacroDepth)
            {
                _macroDepth--;
                throw new JinjaRuntimeException($"macro '{m.Name}' calls nested more than {MaxMacroDepth} deep (does it call itself without end?)");
            }
            int mark = Output.Length;
            Scopes.Add(scope);
            try { Exec(m.Body); }
            finally { Scopes.RemoveAt(Scopes.Count - 1); _macroDepth--; }
            string result = Output.ToString(mark, Output.Length - mark);
            Output.Length = mark;
            return result;
        };

        private object? Lookup(string name)
        {
            for (int k = Scopes.Count - 1; k >= 0; k--)
                if (Scopes[k].TryGetValue(name, out var v)) return v;
            return Undefined.Instance;
        }

        // ---- expressions
        private object? Eval(Expr e)
        {
            Enter();
            try { return EvalExpr(e); }
            finally { _depth--; }
        }

        private object? EvalExpr(Expr e)
        {
            switch (e)
            {
                case Literal l: return l.Value;
                case NameRef n: return Lookup(n.Name);
                case ListExpr l: return l.Items.Select(Eval).ToList();
                case DictExpr d:
                {
                    var dict = new Dictionary<string, object?>();
                    foreach (var (k, v) in d.Items) dict[JinjaValues.Str(Eval(k))] = Eval(v);
                    return dict;
                }
                case AttrExpr a: return JinjaBuiltins.GetAttribute(Eval(a.Target), a.Name);
                case IndexExpr i: return JinjaBuiltins.GetItem(Eval(i.Target), Eval(i.Index));
                case SliceExpr s:
                    return JinjaBuiltins.Slice(Eval(s.Target), s.Start is null ? null : Eval(s.Start), s.Stop is null ? null : Eval(s.Stop), s.Step is null ? null : Eval(s.Step));
                case CallExpr c:
                {
                    var target = Eval(c.Target);
                    if (target is not JinjaCallable f) throw new JinjaRuntimeException($"{Describe(c.Target)} is not callable ({JinjaValues.TypeName(target)})");
                    return f(c.Args.Select(Eval).ToList(), c.Kwargs.ToDictionary(k => k.Name, k => Eval(k.Value)));
                }
                case FilterExpr f:
                    return JinjaBuiltins.Filter(f.Name, Eval(f.Target), f.Args.Select(Eval).ToList(), f.Kwargs.ToDictionary(k => k.Name, k => Eval(k.Value)));
                case TestExpr t:
                {
                    bool result = JinjaBuiltins.Test(t.Name, Eval(t.Target), t.Args.Select(Eval).ToList());
                    return t.Negated ? !result : result;
                }
                case UnaryExpr u:
                {
                    var v = Eval(u.Operand);
                    return u.Op switch
                    {
                        "not" => !JinjaValues.Truthy(v),
                        "-" => v is long l ? (object)(-l) : -JinjaValues.ToDouble(v),
                        _ => v,
                    };
                }
                case BinaryExpr b:
                {
                    if (b.Op == "and") { var l = Eval(b.Left); return JinjaValues.Truthy(l) ? Eval(b.Right) : l; }
                    if (b.Op == "or") { var l = Eval(b.Left); return JinjaValues.Truthy(l) ? l : Eval(b.Right); }
                    return JinjaBuiltins.Binary(b.Op, Eval(b.Left), Eval(b.Right));
                }
                case CondExpr c:
                    return JinjaValues.Truthy(Eval(c.Condition)) ? Eval(c.Then) : c.Else is null ? Undefined.Instance : Eval(c.Else);
                default: throw new JinjaRuntimeException($"unknown expression {e.GetType().Name}");
            }
        }

        private static string Describe(Expr e) => e switch
        {
            NameRef n => $"'{n.Name}'",
            AttrExpr a => $"'{a.Name}'",
            _ => "expression",
        };
    }
}
