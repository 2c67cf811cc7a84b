using System.Globalization;

namespace MultimodalHub.Inference.Text.Jinja;

/// <summary>Recursive-descent parser for the Jinja subset chat templates use (statements: if/elif/else, for (+else, filter), set (+block), macro, break/continue, generation; full expression grammar).</summary>
internal sealed class JinjaParser
{
    private readonly List<Segment> _segments;
    private int _seg;
    private IReadOnlyList<Tok> _toks = [];
    private int _pos;

    /// <summary>Deepest nesting of expressions and blocks; deeper input is rejected instead of overflowing the stack.</summary>
    public const int MaxDepth = 256;

    private int _depth;

    private JinjaParser(List<Segment> segments) => _segments = segments;

    /// <summary>One level deeper (dispose to come back up); past <see cref="MaxDepth"/> a syntax error.</summary>
    private DepthGuard Deeper()
    {
        if (++_depth > MaxDepth) throw new JinjaSyntaxException($"Template nested more than {MaxDepth} levels deep.");
        return new DepthGuard(this);
    }

    private readonly struct DepthGuard(JinjaParser parser) : IDisposable
    {
        public void Dispose() => parser._depth--;
    }

    public static IReadOnlyList<Node> Parse(string source)
    {
        var parser = new JinjaParser(JinjaLexer.Lex(source));
        var nodes = parser.ParseBody(out string? end);
        if (end is not null) throw new JinjaSyntaxException($"Unexpected '{{% {end} %}}'.");
        return nodes;
    }

    /// <summary>Parses nodes until a block tag whose keyword is in <paramref name="stops"/> (returned in <paramref name="end"/>), or the end.</summary>
    private List<Node> ParseBody(out string? end, params string[] stops)
    {
        using var _ = Deeper();
        var nodes = new List<Node>();
        while (_seg < _segments.Count)
        {
            var seg = _segments[_seg++];
            switch (seg.Kind)
            {
                case SegKind.Text: nodes.Add(new TextNode(seg.Text)); break;
                case SegKind.Output:
                    Begin(seg);
                    nodes.Add(new OutputNode(ParseExpression()));
                    ExpectEnd();
                    break;
                case SegKind.Block:
                    Begin(seg);
                    var keyword = Next();
                    if (keyword.Kind != TokKind.Name) throw Error(keyword, "expected a statement keyword");
                    if (stops.Contains(keyword.Text)) { end = keyword.Text; return nodes; }
                    var node = ParseStatement(keyword);
                    if (node is not null) nodes.Add(node);
                    break;
            }
        }
        end = null;
        if (stops.Length > 0) throw new JinjaSyntaxException($"Missing '{{% {stops[^1]} %}}' at end of template.");
        return nodes;
    }

    private Node? ParseStatement(Tok keyword)
    {
        switch (keyword.Text)
        {
            case "if": return ParseIf();
            case "for": return ParseFor();
            case "set": return ParseSet();
            case "macro": return ParseMacro();
            case "break": ExpectEnd(); return new BreakNode();
            case "continue": ExpectEnd(); return new ContinueNode();
            case "generation":
            {
                // transformers' AssistantTracker extension: {% generation %}…{% endgeneration %} only marks assistant text.
                ExpectEnd();
                var body = ParseBody(out _, "endgeneration");
                ExpectEnd();
                return new IfNode([(new Literal(true, keyword.Position), body)], null);
            }
            default: throw Error(keyword, $"unsupported statement '{keyword.Text}'");
        }
    }

    private IfNode ParseIf()
    {
        var branches = new List<(Expr, IReadOnlyList<Node>)>();
        var condition = ParseExpression();
        ExpectEnd();
        while (true)
        {
            var body = ParseBody(out string? end, "elif", "else", "endif");
            branches.Add((condition, body));
            if (end == "elif") { condition = ParseExpression(); ExpectEnd(); continue; }
            if (end == "else")
            {
                ExpectEnd();
                var elseBody = ParseBody(out _, "endif");
                ExpectEnd();
                return new IfNode(branches, elseBody);
            }
            ExpectEnd();
            return new IfNode(branches, null);
        }
    }

    private ForNode ParseFor()
    {
        var targets = new List<string> { ExpectName() };
        while (Peek().Is(",")) { Next(); targets.Add(ExpectName()); }
        if (!Next().IsName("in")) throw Error(Peek(), "expected 'in'");
        var iterable = ParseExpression(allowCondition: false);
        Expr? filter = null;
        if (Peek().IsName("if")) { Next(); filter = ParseExpression(allowCondition: false); }
        if (Peek().IsName("recursive")) throw Error(Peek(), "recursive loops are not supported");
        ExpectEnd();
        var body = ParseBody(out string? end, "else", "endfor");
        IReadOnlyList<Node>? elseBody = null;
        if (end == "else") { ExpectEnd(); elseBody = ParseBody(out _, "endfor"); }
        ExpectEnd();
        return new ForNode(targets, iterable, filter, body, elseBody);
    }

    private SetNode ParseSet()
    {
        string first = ExpectName();
        if (Peek().Is("."))
        {
            Next();
            string attr = ExpectName();
            Expect("=");
            var v = ParseExpression();
            ExpectEnd();
            return new SetNode([first], attr, v, null);
        }
        var targets = new List<string> { first };
        while (Peek().Is(",")) { Next(); targets.Add(ExpectName()); }
        if (Peek().Kind == TokKind.End)
        {
            ExpectEnd();
            var body = ParseBody(out _, "endset");
            ExpectEnd();
            return new SetNode(targets, null, null, body);
        }
        Expect("=");
        var value = ParseExpression();
        ExpectEnd();
        return new SetNode(targets, null, value, null);
    }

    private MacroNode ParseMacro()
    {
        string name = ExpectName();
        Expect("(");
        var parameters = new List<(string, Expr?)>();
        while (!Peek().Is(")"))
        {
            string p = ExpectName();
            Expr? def = null;
            if (Peek().Is("=")) { Next(); def = ParseExpression(); }
            parameters.Add((p, def));
            if (!Peek().Is(")")) Expect(",");
        }
        Expect(")");
        ExpectEnd();
        var body = ParseBody(out _, "endmacro");
        ExpectEnd();
        return new MacroNode(name, parameters, body);
    }

    // ---- expressions, lowest precedence first
    private Expr ParseExpression(bool allowCondition = true)
    {
        var expr = ParseOr();
        if (allowCondition && Peek().IsName("if"))
        {
            var t = Next();
            var condition = ParseOr();
            Expr? otherwise = null;
            if (Peek().IsName("else")) { Next(); otherwise = ParseExpression(); }
            return new CondExpr(condition, expr, otherwise, t.Position);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Peek().IsName("or")) { var t = Next(); left = new BinaryExpr("or", left, ParseAnd(), t.Position); }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Peek().IsName("and")) { var t = Next(); left = new BinaryExpr("and", left, ParseNot(), t.Position); }
        return left;
    }

    private Expr ParseNot()
    {
        using var _ = Deeper();
        if (Peek().IsName("not")) { var t = Next(); return new UnaryExpr("not", ParseNot(), t.Position); }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        var left = ParseAdd();
        while (true)
        {
            var t = Peek();
            if (t.Kind == TokKind.Op && t.Text is "==" or "!=" or "<" or ">" or "<=" or ">=") { Next(); left = new BinaryExpr(t.Text, left, ParseAdd(), t.Position); }
            else if (t.IsName("in")) { Next(); left = new BinaryExpr("in", left, ParseAdd(), t.Position); }
            else if (t.IsName("not") && PeekAt(1).IsName("in")) { Next(); Next(); left = new BinaryExpr("not in", left, ParseAdd(), t.Position); }
            else return left;
        }
    }

    private Expr ParseAdd()
    {
        var left = ParseConcat();
        while (Peek().Kind == TokKind.Op && Peek().Text is "+" or "-") { var t = Next(); left = new BinaryExpr(t.Text, left, ParseConcat(), t.Position); }
        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMul();
        while (Peek().Is("~")) { var t = Next(); left = new BinaryExpr("~", left, ParseMul(), t.Position); }
        return left;
    }

    private Expr ParseMul()
    {
        var left = ParsePow();
        while (Peek().Kind == TokKind.Op && Peek().Text is "*" or "/" or "//" or "%") { var t = Next(); left = new BinaryExpr(t.Text, left, ParsePow(), t.Position); }
        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary();
        while (Peek().Is("**")) { var t = Next(); left = new BinaryExpr("**", left, ParseUnary(), t.Position); }
        return left;
    }

    private Expr ParseUnary(bool withFilters = true)
    {
        using var _ = Deeper();
        var t = Peek();
        Expr expr = t.Kind == TokKind.Op && t.Text is "-" or "+"
            ? new UnaryExpr(Next().Text, ParseUnary(withFilters: false), t.Position)
            : ParsePostfix(ParsePrimary());
        return withFilters ? ParseFilters(expr) : expr;
    }

    /// <summary>Filters (x | f(args)) and tests (x is [not] t(args)) bind tighter than any operator.</summary>
    private Expr ParseFilters(Expr expr)
    {
        while (true)
        {
            var t = Peek();
            if (t.Is("|"))
            {
                Next();
                string name = ExpectName();
                var (args, kwargs) = Peek().Is("(") ? ParseArgs() : ([], []);
                expr = ParsePostfix(new FilterExpr(expr, name, args, kwargs, t.Position));
            }
            else if (t.IsName("is"))
            {
                Next();
                bool negated = false;
                if (Peek().IsName("not")) { Next(); negated = true; }
                var nameTok = Next();
                if (nameTok.Kind != TokKind.Name) throw Error(nameTok, "expected a test name after 'is'");
                var args = new List<Expr>();
                if (Peek().Is("(")) args.AddRange(ParseArgs().Args);
                else if (Peek().Kind is TokKind.String or TokKind.Int or TokKind.Float || (Peek().Kind == TokKind.Name && !IsKeyword(Peek().Text)))
                    args.Add(ParsePostfix(ParsePrimary()));
                expr = new TestExpr(expr, nameTok.Text, args, negated, t.Position);
            }
            else return expr;
        }
    }

    private static bool IsKeyword(string s) => s is "and" or "or" or "not" or "in" or "is" or "if" or "else";

    private Expr ParsePostfix(Expr expr)
    {
        while (true)
        {
            var t = Peek();
            if (t.Is("."))
            {
                Next();
                var name = Next();
                if (name.Kind is not (TokKind.Name or TokKind.Int)) throw Error(name, "expected an attribute name");
                expr = name.Kind == TokKind.Int ? new IndexExpr(expr, new Literal(long.Parse(name.Text, CultureInfo.InvariantCulture), name.Position), t.Position) : new AttrExpr(expr, name.Text, t.Position);
            }
            else if (t.Is("["))
            {
                Next();
                Expr? start = null, stop = null, step = null;
                if (!Peek().Is(":")) start = ParseExpression();
                if (Peek().Is(":"))
                {
                    Next();
                    if (!Peek().Is("]") && !Peek().Is(":")) stop = ParseExpression();
                    if (Peek().Is(":")) { Next(); if (!Peek().Is("]")) step = ParseExpression(); }
                    Expect("]");
                    expr = new SliceExpr(expr, start, stop, step, t.Position);
                }
                else
                {
                    Expect("]");
                    expr = new IndexExpr(expr, start!, t.Position);
                }
            }
            else if (t.Is("("))
            {
                var (args, kwargs) = ParseArgs();
                expr = new CallExpr(expr, args, kwargs, t.Position);
            }
            else return expr;
        }
    }

    private (List<Expr> Args, List<(string, Expr)> Kwargs) ParseArgs()
    {
        Expect("(");
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!Peek().Is(")"))
        {
            if (Peek().Kind == TokKind.Name && PeekAt(1).Is("="))
            {
                string name = Next().Text;
                Next();
                kwargs.Add((name, ParseExpression()));
            }
            else args.Add(ParseExpression());
            if (!Peek().Is(")")) Expect(",");
        }
        Expect(")");
        return (args, kwargs);
    }

    private Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokKind.String:
            {
                string s = t.Text;
                while (Peek().Kind == TokKind.String) s += Next().Text; // adjacent literals concatenate
                return new Literal(s, t.Position);
            }
            case TokKind.Int:
                return long.TryParse(t.Text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var integer)
                    ? new Literal(integer, t.Position)
                    : throw Error(t, $"integer literal {t.Text} is out of range");
            case TokKind.Float: return new Literal(double.Parse(t.Text, CultureInfo.InvariantCulture), t.Position);
            case TokKind.Name:
                return t.Text switch
                {
                    "true" or "True" => new Literal(true, t.Position),
                    "false" or "False" => new Literal(false, t.Position),
                    "none" or "None" => new Literal(null, t.Position),
                    _ => new NameRef(t.Text, t.Position),
                };
            case TokKind.Op when t.Text == "(":
            {
                if (Peek().Is(")")) { Next(); return new ListExpr([], t.Position); }
                var first = ParseExpression();
                if (Peek().Is(","))
                {
                    var items = new List<Expr> { first };
                    while (Peek().Is(",")) { Next(); if (Peek().Is(")")) break; items.Add(ParseExpression()); }
                    Expect(")");
                    return new ListExpr(items, t.Position);
                }
                Expect(")");
                return first;
            }
            case TokKind.Op when t.Text == "[":
            {
                var items = new List<Expr>();
                while (!Peek().Is("]")) { items.Add(ParseExpression()); if (!Peek().Is("]")) Expect(","); }
                Expect("]");
                return new ListExpr(items, t.Position);
            }
            case TokKind.Op when t.Text == "{":
            {
                var items = new List<(Expr, Expr)>();
                while (!Peek().Is("}"))
                {
                    var key = ParseExpression();
                    Expect(":");
                    items.Add((key, ParseExpression()));
                    if (!Peek().Is("}")) Expect(",");
                }
                Expect("}");
                return new DictExpr(items, t.Position);
            }
            default: throw Error(t, "unexpected token");
        }
    }

    // ---- token helpers
    private void Begin(Segment seg) { _toks = seg.Tokens; _pos = 0; }
    private Tok Peek() => PeekAt(0);
    private Tok PeekAt(int k) => _pos + k < _toks.Count ? _toks[_pos + k] : new Tok(TokKind.End, "end of tag", _toks.Count > 0 ? _toks[^1].Position : 0);
    private Tok Next() { var t = Peek(); if (_pos < _toks.Count) _pos++; return t; }
    private void Expect(string op) { var t = Next(); if (!t.Is(op)) throw Error(t, $"expected '{op}'"); }
    private string ExpectName() { var t = Next(); return t.Kind == TokKind.Name ? t.Text : throw Error(t, "expected a name"); }
    private void ExpectEnd() { if (_pos < _toks.Count) throw Error(_toks[_pos], "expected end of tag"); }
    private static JinjaSyntaxException Error(Tok t, string message) => new($"Chat template syntax error at character {t.Position} near '{t}': {message}.");
}
