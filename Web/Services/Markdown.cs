using Markdig;
using Markdig.Renderers;
using Markdig.Renderers.Html;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace MultimodalHub.Web.Services;

/// <summary>Markdown to HTML for chat answers (Markdig). Raw HTML in the model's text is escaped, never rendered; links
/// and images keep only http, https and mailto targets (javascript:, data:, vbscript: ... are dropped), and links get
/// rel="noopener nofollow".</summary>
public static class Markdown
{
    private static readonly string[] SafeSchemes = ["http", "https", "mailto"];

    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .DisableHtml()
        .UseEmphasisExtras()
        .UsePipeTables()
        .UseAutoLinks()
        .UseTaskLists()
        .Build();

    public static string ToHtml(string text)
    {
        var document = Markdig.Markdown.Parse(text, Pipeline);
        foreach (var inline in document.Descendants<Inline>())
        {
            switch (inline)
            {
                case LinkInline link:
                    if (!IsSafe(link.Url)) link.Url = "";
                    if (!link.IsImage) link.GetAttributes().AddPropertyIfNotExist("rel", "noopener nofollow");
                    break;
                case AutolinkInline auto when !auto.IsEmail && !IsSafe(auto.Url):
                    auto.Url = "";
                    break;
            }
        }
        using var writer = new StringWriter();
        var renderer = new HtmlRenderer(writer);
        Pipeline.Setup(renderer);
        renderer.Render(document);
        writer.Flush();
        return writer.ToString();
    }

    /// <summary>Relative targets (no scheme) and http/https/mailto are safe; anything else with a scheme is not.</summary>
    private static bool IsSafe(string? url)
    {
        if (string.IsNullOrWhiteSpace(url)) return true;
        // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:"), so strip them first.
        var compact = new string(url.Where(c => !char.IsControl(c) && !char.IsWhiteSpace(c)).ToArray());
        var colon = compact.IndexOf(':');
        if (colon < 0) return true;
        var slash = compact.IndexOfAny(['/', '?', '#']);
        if (slash >= 0 && slash < colon) return true; // "a/b:c" is a relative path, not a scheme
        var scheme = compact[..colon];
        return SafeSchemes.Any(s => scheme.Equals(s, StringComparison.OrdinalIgnoreCase));
    }
}
