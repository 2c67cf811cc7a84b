using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Text;
using MultimodalHub.Inference.Text.Jinja;

namespace MultimodalHub.Tests.Text;

/// <summary>
/// Hostile or broken chat templates: deep nesting and endless recursion are errors (never a stack overflow, which
/// would end the process), and every failure while rendering is an InvalidRequestException on "messages" (a 400).
/// </summary>
public sealed class JinjaHardeningTests
{
    private static readonly ChatMessage[] Messages = [new("user", "hi")];

    private static InvalidRequestException RenderFails(string template)
    {
        var t = ChatTemplate.Parse(template);
        var e = Assert.Throws<InvalidRequestException>(() => t.Render(Messages));
        Assert.Equal("messages", e.Field);
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        return e;
    }

    [Theory]
    [InlineData(100_000, "(", ")")]
    [InlineData(100_000, "[", "]")]
    [InlineData(100_000, "not ", "")]
    [InlineData(100_000, "-", "")]
    public void Deeply_nested_expressions_are_a_syntax_error(int depth, string open, string close)
    {
        var source = "{{ " + string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth)) + " }}";
        var e = Assert.Throws<JinjaSyntaxException>(() => ChatTemplate.Parse(source));
        Assert.Contains("nested", e.Message);
    }

    [Fact]
    public void Deeply_nested_blocks_are_a_syntax_error()
    {
        var source = string.Concat(Enumerable.Repeat("{% if true %}", 50_000)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", 50_000));
        Assert.Throws<JinjaSyntaxException>(() => ChatTemplate.Parse(source));
    }

    [Fact]
    public void Moderate_nesting_still_renders()
    {
        var source = "{{ " + string.Concat(Enumerable.Repeat("(", 60)) + "1 + 2" + string.Concat(Enumerable.Repeat(")", 60)) + " }}";
        Assert.Equal("3", ChatTemplate.Parse(source).Render(Messages, false));
    }

    [Fact]
    public void A_macro_calling_itself_forever_is_an_error()
    {
        Assert.Contains("macro", RenderFails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").Message);
    }

    [Fact]
    public void A_recursive_macro_of_modest_depth_renders()
    {
        var t = ChatTemplate.Parse("{% macro f(n) %}{% if n > 0 %}{{ n }},{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(30) }}");
        Assert.StartsWith("30,29,", t.Render(Messages, false));
    }

    [Theory]
    [InlineData("{% set l = [] %}{% set _ = l.append(l) %}{{ l }}")]
    [InlineData("{% set l = [] %}{% set _ = l.append(l) %}{{ l | tojson }}")]
    [InlineData("{% set l = [] %}{% set _ = l.append(l) %}{{ l == l }}")]
    [InlineData("{% set l = [] %}{% set _ = l.append(l) %}{{ [l] in [[l]] }}")]
    public void Self_containing_values_are_an_error(string template) => RenderFails(template);

    [Theory]
    [InlineData("{{ [1, 2].index() }}")]                              // args[0] of a missing argument
    [InlineData("{{ 'abc'.replace('a') }}")]
    [InlineData("{{ 'x' | indent(-5) }}")]
    [InlineData("{{ [1] | tojson(indent=-3) }}")]
    [InlineData("{{ [1, 'a', 2] | sort }}")]                          // the comparer fails inside List.Sort
    [InlineData("{{ 'ab' * 100000000000 }}")]
    [InlineData("{{ [1, 2] * 100000000000 }}")]
    [InlineData("{{ 10 is divisibleby(0) }}")]
    public void Builtin_failures_become_400s(string template) => RenderFails(template);

    [Fact]
    public void An_integer_literal_out_of_range_is_a_syntax_error()
    {
        Assert.Contains("out of range", Assert.Throws<JinjaSyntaxException>(() => ChatTemplate.Parse("{{ 99999999999999999999999 }}")).Message);
    }

    [Fact]
    public void Round_with_a_large_precision_is_clamped()
    {
        Assert.Equal("1.5", ChatTemplate.Parse("{{ 1.5 | round(40) }}").Render(Messages, false));
    }
}
