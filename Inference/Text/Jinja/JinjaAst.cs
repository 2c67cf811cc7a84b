namespace MultimodalHub.Inference.Text.Jinja;

// Statements
internal abstract record Node;
internal sealed record TextNode(string Text) : Node;
internal sealed record OutputNode(Expr Value) : Node;
internal sealed record IfNode(IReadOnlyList<(Expr Condition, IReadOnlyList<Node> Body)> Branches, IReadOnlyList<Node>? Else) : Node;
internal sealed record ForNode(IReadOnlyList<string> Targets, Expr Iterable, Expr? Filter, IReadOnlyList<Node> Body, IReadOnlyList<Node>? Else) : Node;
internal sealed record SetNode(IReadOnlyList<string> Targets, string? Attribute, Expr? Value, IReadOnlyList<Node>? Body) : Node;
internal sealed record MacroNode(string Name, IReadOnlyList<(string Name, Expr? Default)> Parameters, IReadOnlyList<Node> Body) : Node;
internal sealed record BreakNode : Node;
internal sealed record ContinueNode : Node;

// Expressions
internal abstract record Expr(int Position);
internal sealed record Literal(object? Value, int Position) : Expr(Position);
internal sealed record NameRef(string Name, int Position) : Expr(Position);
internal sealed record ListExpr(IReadOnlyList<Expr> Items, int Position) : Expr(Position);
internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Items, int Position) : Expr(Position);
internal sealed record AttrExpr(Expr Target, string Name, int Position) : Expr(Position);
internal sealed record IndexExpr(Expr Target, Expr Index, int Position) : Expr(Position);
internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Position) : Expr(Position);
internal sealed record CallExpr(Expr Target, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs, int Position) : Expr(Position);
internal sealed record FilterExpr(Expr Target, string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs, int Position) : Expr(Position);
internal sealed record TestExpr(Expr Target, string Name, IReadOnlyList<Expr> Args, bool Negated, int Position) : Expr(Position);
internal sealed record UnaryExpr(string Op, Expr Operand, int Position) : Expr(Position);
internal sealed record BinaryExpr(string Op, Expr Left, Expr Right, int Position) : Expr(Position);
internal sealed record CondExpr(Expr Condition, Expr Then, Expr? Else, int Position) : Expr(Position);
