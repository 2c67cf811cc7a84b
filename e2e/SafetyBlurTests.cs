using Microsoft.Playwright;

namespace MultimodalHub.E2E;

/// <summary>The image safety check in Chromium on the real platform: the demo concept set flags "a purple star"
/// (Inference/appsettings.json, Safety:Concepts), so a generated purple star is blurred with "Show anyway" for its
/// owner, shown when asked, and left out of a share link of its run.</summary>
public sealed class SafetyBlurTests(PlatformFixture platform)
{
    private const string Prompt = "a purple star";

    [Fact]
    public async Task A_flagged_image_is_blurred_until_show_anyway_and_never_on_its_share_page()
    {
        var (context, page, errors) = await platform.NewPageAsync();
        await using var __ = context;
        await page.GotoAsync("/imagine?prompt=a%20purple%20star");
        await PlatformFixture.WaitInteractiveAsync(page);
        await page.GetByTestId("generate").ClickAsync();
        await Assertions.Expect(page.GetByTestId("generate")).ToBeEnabledAsync(new() { Timeout = 120_000 });
        await Assertions.Expect(page.GetByTestId("imagine-error")).ToHaveCountAsync(0);

        // Blurred by the browser (CSS filter), with the overlay and its button over it.
        var image = page.GetByTestId("result-image");
        await Assertions.Expect(image).ToHaveCountAsync(1);
        await Assertions.Expect(image).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bhub-flagged\b"));
        Assert.Contains("blur(", await Filter(image));
        await Assertions.Expect(page.GetByTestId("flagged-overlay")).ToContainTextAsync("Flagged by the safety check");
        await PlatformFixture.ScreenshotAsync(page, "flagged-blurred");
        var src = await image.GetAttributeAsync("src") ?? "";
        var sha = src[(src.LastIndexOf('/') + 1)..];
        Assert.Equal(64, sha.Length);

        await page.GetByTestId("show-anyway").ClickAsync();
        await Assertions.Expect(page.GetByTestId("flagged-overlay")).ToHaveCountAsync(0);
        await Assertions.Expect(image).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bhub-flagged\b"));
        Assert.Equal("none", await Filter(image));
        Assert.True(await image.EvaluateAsync<bool>("img => img.complete && img.naturalWidth > 0"), "the image itself loads for its owner");

        // Share the run from History: the share page says one image is not shown, and serves none of it.
        await page.GotoAsync("/history");
        await PlatformFixture.WaitInteractiveAsync(page);
        var row = page.Locator("[data-testid=history] tbody tr", new() { HasText = Prompt }).First;
        await row.Locator("td").Nth(2).ClickAsync();
        await page.GetByTestId("share").ClickAsync();
        await page.GetByTestId("share-create").ClickAsync();
        var url = await page.GetByTestId("share-url").InputValueAsync();
        var token = url[(url.LastIndexOf('/') + 1)..];

        var (viewerContext, viewer, _) = await platform.NewAnonymousPageAsync();
        await using (viewerContext)
        {
            var shared = await viewer.GotoAsync(url);
            Assert.Equal(200, shared!.Status);
            await Assertions.Expect(viewer.GetByTestId("shared-run")).ToContainTextAsync(Prompt);
            await Assertions.Expect(viewer.GetByTestId("shared-hidden")).ToContainTextAsync("1 image is not shown: flagged by the safety check");
            await Assertions.Expect(viewer.GetByTestId("shared-image")).ToHaveCountAsync(0);
            Assert.DoesNotContain(sha, await viewer.ContentAsync());
            await PlatformFixture.ScreenshotAsync(viewer, "flagged-shared");
            var media = await viewerContext.APIRequest.GetAsync($"/s/{token}/media/{sha}");
            Assert.Equal(404, media.Status);
        }
        PlatformFixture.AssertNoCspErrors(errors);
    }

    private static Task<string> Filter(ILocator image) => image.EvaluateAsync<string>("img => getComputedStyle(img).filter");
}
