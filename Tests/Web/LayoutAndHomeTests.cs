using Bunit;
using MultimodalHub.Tests.Core;
using MultimodalHub.Web.Components.Layout;
using MultimodalHub.Web.Components.Pages;

namespace MultimodalHub.Tests.Web;

public sealed class LayoutAndHomeTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    [Fact]
    public async Task Layout_renders_navigation_and_a_working_theme_toggle()
    {
        await using var ctx = new WebTestContext(inference.Factory.CreateClient());
        var layout = ctx.Render<MainLayout>(p => p.Add(x => x.Body, b => b.AddMarkupContent(0, "<p id='body'>page</p>")));

        var links = layout.FindAll("a.mud-nav-link").Select(a => a.TextContent.Trim()).ToList();
        Assert.Equal(["Home", "Classify", "Describe & Ask", "Imagine", "Chat", "Evaluate", "Gallery", "History", "Shared links", "API keys"], links);
        Assert.NotNull(layout.Find("#body"));

        // The signed-in part of the app bar renders once the authentication state is read (asynchronously).
        Assert.Equal("local", layout.WaitForElement("[data-testid=signed-in-as]").TextContent.Trim());
        Assert.Equal("post", layout.Find("form[action='account/logout']").GetAttribute("method"));
        var toggle = layout.Find("[data-testid=theme-toggle]");
        Assert.Equal("light", toggle.GetAttribute("data-theme"));
        toggle.Click();
        Assert.Equal("dark", layout.Find("[data-testid=theme-toggle]").GetAttribute("data-theme"));
        Assert.Equal("dark", ctx.JSInterop.VerifyInvoke("hub.setTheme").Arguments.Single());
    }

    [Fact]
    public async Task Home_lists_the_four_models_of_the_real_inference_service()
    {
        await using var ctx = new WebTestContext(inference.Factory.CreateClient());
        var home = ctx.Render<Home>();
        home.WaitForAssertion(() => Assert.Equal(4, home.FindAll("[data-testid=model-row]").Count), TimeSpan.FromSeconds(30));

        var kinds = home.FindAll("[data-testid=model-row]").ToDictionary(r => r.GetAttribute("data-model")!, r => r.Children[1].TextContent.Trim());
        Assert.Equal(new Dictionary<string, string> { ["clip-shapes"] = "clip", ["sd-shapes"] = "diffusion", ["shapes-chat"] = "chat", ["shapes-vlm"] = "vlm" }, kinds);
        Assert.Equal("ready", home.Find("[data-testid=service-status]").TextContent.Trim());
        // Each model's execution provider (CPU here unless a GPU answers) and ONNX variant.
        var provider = File.Exists("/dev/nvidia0") ? "cuda" : "cpu";
        Assert.All(home.FindAll("[data-testid=model-runs-on]"), cell => Assert.Equal($"{provider} · fp32", cell.TextContent.Trim()));
    }

    [Fact]
    public async Task Layout_shows_the_unreachable_banner_when_the_service_is_down()
    {
        await using var ctx = new WebTestContext(WebTestContext.ClosedPortClient());
        var layout = ctx.Render<MainLayout>(p => p.Add(x => x.Body, b => b.AddMarkupContent(0, "<p>page</p>")));
        layout.WaitForAssertion(() => Assert.Contains("unreachable", layout.Find("[data-testid=inference-unreachable]").TextContent), TimeSpan.FromSeconds(30));
        Assert.Contains("connection refused", layout.Find("[data-testid=inference-unreachable]").TextContent);

        var home = ctx.Render<Home>();
        home.WaitForAssertion(() => Assert.Equal("unreachable", home.Find("[data-testid=service-status]").TextContent.Trim()), TimeSpan.FromSeconds(30));
        Assert.Empty(home.FindAll("[data-testid=model-row]"));
    }
}
