using Bunit;
using MultimodalHub.Tests.Hub;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Components.Pages;

namespace MultimodalHub.Tests.Web;

/// <summary>The Models page on the real inference host, pulling from the loopback hub: preview, pull with progress, the installed list.</summary>
public sealed class ModelsPageTests
{
    [Fact]
    public async Task Preview_shows_the_files_and_size_then_a_pull_installs_the_model_with_its_disk_use()
    {
        await using var bed = await HubTestBed.StartAsync();
        using var service = new InferenceFactory(bed.ModelsRoot, settings: bed.Settings.Where(s => s.Key != "Inference:ModelRoots:0").ToDictionary(s => s.Key, s => s.Value ?? ""));
        await using var ctx = await WebTestContext.StartAsync(service.CreateClient());
        var page = ctx.Render<Models>();
        page.WaitForAssertion(() => Assert.Empty(page.FindAll("[data-testid=installed-model]")));

        await page.InvokeAsync(() => page.Find("input[data-testid=pull-repo], [data-testid=pull-repo] input").Input("local/nothing-here"));
        await page.InvokeAsync(() => page.Find("button[data-testid=pull-preview]").Click());
        page.WaitForAssertion(() => Assert.Contains("local/nothing-here was not found", page.Markup), TimeSpan.FromSeconds(30));

        await page.InvokeAsync(() => page.Find("input[data-testid=pull-repo], [data-testid=pull-repo] input").Input("local/clip-shapes"));
        await page.InvokeAsync(() => page.Find("button[data-testid=pull-preview]").Click());
        page.WaitForAssertion(() => Assert.Contains("onnx/vision_model.onnx", page.Find("[data-testid=pull-files]").TextContent), TimeSpan.FromSeconds(30));
        var summary = page.Find("[data-testid=pull-summary]").TextContent;
        Assert.Contains("clip", summary);
        Assert.Contains("fp32", summary);
        Assert.Contains("10.6 MiB", summary); // the four graphs' and configs' total
        Assert.DoesNotContain(bed.Hub.Requests, r => r.Route == Inference.Hub.HubRoute.Cdn);

        await page.InvokeAsync(() => page.Find("button[data-testid=pull-start]").Click());
        page.WaitForAssertion(() => Assert.Equal("completed", page.Find("[data-testid=pull-job]").GetAttribute("data-status")), TimeSpan.FromSeconds(60));
        page.WaitForAssertion(() =>
        {
            var row = Assert.Single(page.FindAll("[data-testid=installed-model]"));
            Assert.Equal("clip-shapes", row.GetAttribute("data-model"));
            Assert.Contains("local/clip-shapes@", row.TextContent);
            Assert.Contains("10.6 MiB", row.TextContent);
        }, TimeSpan.FromSeconds(30));
    }
}
