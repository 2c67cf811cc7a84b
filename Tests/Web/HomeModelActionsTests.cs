using AngleSharp.Dom;
using Bunit;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Components.Pages;

namespace MultimodalHub.Tests.Web;

/// <summary>The Home page's Load, Pin and Unload buttons against a real inference host of its own (its models' state is not shared).</summary>
public sealed class HomeModelActionsTests
{
    [Fact]
    public async Task Load_pin_and_unload_a_model_from_the_home_page()
    {
        using var inference = new InferenceFactory();
        await using var ctx = await WebTestContext.StartAsync(inference.CreateClient());
        var home = ctx.Render<Home>();
        IElement Row() => home.Find("[data-testid=model-row][data-model=clip-shapes]");
        home.WaitForAssertion(() => Assert.Contains("not loaded", Row().QuerySelector("[data-testid=model-loaded]")!.TextContent), TimeSpan.FromSeconds(30));

        await home.InvokeAsync(() => Row().QuerySelector("[data-testid=model-load]")!.Click());
        home.WaitForAssertion(() => Assert.Contains("in memory, loaded in", Row().QuerySelector("[data-testid=model-loaded]")!.TextContent), TimeSpan.FromSeconds(60));
        Assert.Contains("warm-up", Row().QuerySelector("[data-testid=model-loaded]")!.TextContent);
        Assert.Matches("^(cpu|cuda) · fp32$", Row().QuerySelector("[data-testid=model-runs-on]")!.TextContent.Trim());

        await home.InvokeAsync(() => Row().QuerySelector("[data-testid=model-pin]")!.Click());
        home.WaitForAssertion(() => Assert.Contains("pinned", Row().QuerySelector("[data-testid=model-loaded]")!.TextContent), TimeSpan.FromSeconds(30));
        Assert.Equal("Unpin", Row().QuerySelector("[data-testid=model-pin]")!.TextContent.Trim());

        await home.InvokeAsync(() => Row().QuerySelector("[data-testid=model-unload]")!.Click());
        home.WaitForAssertion(() => Assert.Contains("not loaded", Row().QuerySelector("[data-testid=model-loaded]")!.TextContent), TimeSpan.FromSeconds(30));
        Assert.NotNull(Row().QuerySelector("[data-testid=model-load]"));
        Assert.Empty(home.FindAll("[data-testid=model-action-error]"));
    }
}
