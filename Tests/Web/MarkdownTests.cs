using MultimodalHub.Web.Services;

namespace MultimodalHub.Tests.Web;

/// <summary>Chat answers are model output: their links must not run script in the page.</summary>
public sealed class MarkdownTests
{
    [Theory]
    [InlineData("[x](javascript:alert(1))")]
    [InlineData("[x](JavaScript:alert(1))")]
    [InlineData("[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)")]
    [InlineData("[x](vbscript:msgbox)")]
    [InlineData("<javascript:alert(1)>")]
    [InlineData("![img](javascript:alert(1))")]
    public void Script_and_data_link_targets_are_dropped(string markdown)
    {
        var html = Markdown.ToHtml(markdown);
        Assert.DoesNotContain("javascript:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("data:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("vbscript:", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Web_and_mail_links_stay_and_get_rel_noopener_nofollow()
    {
        var html = Markdown.ToHtml("[docs](https://example.org/a?b=1) and [mail](mailto:me@example.org) and https://example.com/x");
        Assert.Contains("href=\"https://example.org/a?b=1\"", html);
        Assert.Contains("href=\"mailto:me@example.org\"", html);
        Assert.Contains("href=\"https://example.com/x\"", html);
        Assert.Contains("rel=\"noopener nofollow\"", html);
    }

    [Fact]
    public void Raw_html_is_escaped()
    {
        var html = Markdown.ToHtml("<script>alert(1)</script> <img src=x onerror=alert(1)>");
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<img", html);
    }
}
