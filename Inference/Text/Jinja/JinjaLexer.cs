using System.Globalization;
using System.Text;

namespace MultimodalHub.Inference.Text.Jinja;

/// <summary>A template that cannot be parsed, or uses Jinja syntax this interpreter does not implement.</summary>
public sealed class JinjaSyntaxException(string message) : InvalidOperationException(message);

internal enum TokKind { Name, String, Int, Float, Op, End }

internal readonly record struct Tok(TokKind Kind, string Text, int Position)
{
    public bool Is(string op) => Kind == TokKind.Op && Text == op;
    public bool IsName(string name) => Kind == TokKind.Name && Text == name;
    public override string ToString() => Kind == TokKind.String ? $"'{Text}'" : Text;
}

internal enum SegKind { Text, Output, Block }

/// <summary>A piece of the template: literal text, an {{ expression }} or a {% statement %} (its tokens).</summary>
internal sealed record Segment(SegKind Kind, string Text, IReadOnlyList<Tok> Tokens, int Position);

/// <summary>
/// Splits a Jinja template into text / output / block segments, applying whitespace control the way transformers'
/// apply_chat_template configures Jinja: "-" markers, trim_blocks=True and lstrip_blocks=True; comments are dropped.
/// </summary>
internal static class JinjaLexer
{
    private static readonly string[] Ops = ["==", "!=", "<=", ">=", "//", "**", "<", ">", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "="];

    public static List<Segment> Lex(string source)
    {
        var segments = new List<Segment>();
        var text = new StringBuilder();
        int textStart = 0;
        int i = 0;
        bool trimNextNewline = false, stripNextWhitespace = false;
        while (i < source.Length)
        {
            int open = FindOpen(source, i);
            string chunk = open < 0 ? source[i..] : source[i..open];
            if (stripNextWhitespace) chunk = chunk.TrimStart();
            else if (trimNextNewline) chunk = chunk.StartsWith("\r\n", StringComparison.Ordinal) ? chunk[2..] : chunk.StartsWith('\n') ? chunk[1..] : chunk;
            trimNextNewline = stripNextWhitespace = false;
            text.Append(chunk);
            if (open < 0) break;

            char kind = source[open + 1]; // '{', '%' or '#'
            int p = open + 2;
            bool leftStrip = p < source.Length && source[p] == '-';
            bool leftKeep = p < source.Length && source[p] == '+';
            if (leftStrip || leftKeep) p++;

            if (leftStrip) TrimEndWhitespace(text);
            else if (kind != '{' && !leftKeep) LStripBlock(text, source, open);
            if (text.Length > 0) segments.Add(new Segment(SegKind.Text, text.ToString(), [], textStart));
            text.Clear();

            bool rightStrip;
            if (kind == '#')
            {
                int close = source.IndexOf("#}", p, StringComparison.Ordinal);
                if (close < 0) throw new JinjaSyntaxException($"Unclosed comment at {open}.");
                rightStrip = source[close - 1] == '-';
                i = close + 2;
            }
            else
            {
                var tokens = new List<Tok>();
                i = LexTag(source, p, kind == '{' ? '}' : '%', tokens, out rightStrip);
                if (kind == '%' && tokens.Count > 0 && tokens[0].IsName("raw"))
                {
                    int endRaw = FindEndRaw(source, i, out int afterEndRaw);
                    segments.Add(new Segment(SegKind.Text, source[i..endRaw], [], i));
                    i = afterEndRaw;
                    continue;
                }
                segments.Add(new Segment(kind == '{' ? SegKind.Output : SegKind.Block, "", tokens, open));
            }
            textStart = i;
            if (rightStrip) stripNextWhitespace = true;
            else if (kind != '{') trimNextNewline = true;
        }
        if (text.Length > 0) segments.Add(new Segment(SegKind.Text, text.ToString(), [], textStart));
        return segments;
    }

    private static int FindOpen(string s, int from)
    {
        for (int k = s.IndexOf('{', from); k >= 0 && k + 1 < s.Length; k = s.IndexOf('{', k + 1))
            if (s[k + 1] is '{' or '%' or '#') return k;
        return -1;
    }

    private static int FindEndRaw(string s, int from, out int after)
    {
        int k = from;
        while ((k = s.IndexOf("{%", k, StringComparison.Ordinal)) >= 0)
        {
            var tokens = new List<Tok>();
            int p = k + 2 + (k + 2 < s.Length && s[k + 2] is '-' or '+' ? 1 : 0);
            int end = LexTag(s, p, '%', tokens, out _);
            if (tokens.Count > 0 && tokens[0].IsName("endraw")) { after = end; return k; }
            k += 2;
        }
        throw new JinjaSyntaxException("{% raw %} without {% endraw %}.");
    }

    private static void TrimEndWhitespace(StringBuilder sb)
    {
        int n = sb.Length;
        while (n > 0 && char.IsWhiteSpace(sb[n - 1])) n--;
        sb.Length = n;
    }

    /// <summary>lstrip_blocks: spaces/tabs between the start of a line and a block tag are removed.</summary>
    private static void LStripBlock(StringBuilder sb, string source, int open)
    {
        int k = open;
        while (k > 0 && source[k - 1] is ' ' or '\t') k--;
        if (k > 0 && source[k - 1] != '\n') return; // the tag does not start its line
        int remove = open - k; // the indentation in the source; the buffer ends with it unless "-" already stripped it
        int n = sb.Length;
        while (remove-- > 0 && n > 0 && sb[n - 1] is ' ' or '\t') n--;
        sb.Length = n;
    }

    /// <summary>Tokens of a tag body up to its closing "}}" / "%}" (honouring an optional "-" strip marker); returns the index after it.</summary>
    private static int LexTag(string s, int p, char closer, List<Tok> tokens, out bool rightStrip)
    {
        int depth = 0;
        while (true)
        {
            while (p < s.Length && char.IsWhiteSpace(s[p])) p++;
            if (p >= s.Length) throw new JinjaSyntaxException($"Unclosed tag at end of template (expected '{closer}}}').");
            char c = s[p];
            if (depth == 0 && c == '-' && p + 2 < s.Length && s[p + 1] == closer && s[p + 2] == '}') { rightStrip = true; return p + 3; }
            if (depth == 0 && c == closer && p + 1 < s.Length && s[p + 1] == '}') { rightStrip = false; return p + 2; }
            if (c is '\'' or '"')
            {
                var sb = new StringBuilder();
                int q = p + 1;
                while (q < s.Length && s[q] != c)
                {
                    if (s[q] == '\\' && q + 1 < s.Length)
                    {
                        q++;
                        switch (s[q])
                        {
                            case 'n': sb.Append('\n'); break;
                            case 't': sb.Append('\t'); break;
                            case 'r': sb.Append('\r'); break;
                            case '\\': sb.Append('\\'); break;
                            case '\'': sb.Append('\''); break;
                            case '"': sb.Append('"'); break;
                            case 'u' when q + 4 < s.Length: sb.Append((char)int.Parse(s.AsSpan(q + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture)); q += 4; break;
                            case '\n': break;
                            default: sb.Append('\\').Append(s[q]); break;
                        }
                    }
                    else sb.Append(s[q]);
                    q++;
                }
                if (q >= s.Length) throw new JinjaSyntaxException($"Unterminated string literal at {p}.");
                tokens.Add(new Tok(TokKind.String, sb.ToString(), p));
                p = q + 1;
                continue;
            }
            if (char.IsDigit(c))
            {
                int q = p;
                while (q < s.Length && (char.IsDigit(s[q]) || s[q] == '_')) q++;
                bool isFloat = q + 1 < s.Length && s[q] == '.' && char.IsDigit(s[q + 1]);
                if (isFloat) { q++; while (q < s.Length && char.IsDigit(s[q])) q++; }
                tokens.Add(new Tok(isFloat ? TokKind.Float : TokKind.Int, s[p..q].Replace("_", ""), p));
                p = q;
                continue;
            }
            if (char.IsLetter(c) || c == '_')
            {
                int q = p;
                while (q < s.Length && (char.IsLetterOrDigit(s[q]) || s[q] == '_')) q++;
                tokens.Add(new Tok(TokKind.Name, s[p..q], p));
                p = q;
                continue;
            }
            string? op = Ops.FirstOrDefault(o => string.CompareOrdinal(s, p, o, 0, o.Length) == 0);
            if (op is null) throw new JinjaSyntaxException($"Unexpected character '{c}' at {p}.");
            if (op is "(" or "[" or "{") depth++;
            else if (op is ")" or "]" or "}") depth--;
            tokens.Add(new Tok(TokKind.Op, op, p));
            p += op.Length;
        }
    }
}
