using Markdig;

namespace MultimodalHub.Web.Services;

/// <summary>Markdown to HTML for chat answers (Markdig; raw HTML in the model's text is escaped, never rendered).</summary>
public static class Markdown
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .DisableHtml()
        .UseEmphasisExtras()
        .UsePipeTables()
        .UseAutoLinks()
        .UseTaskLists()
        .Build();

    public static string ToHtml(string text) => Markdig.Markdown.ToHtml(text, Pipeline);
}
