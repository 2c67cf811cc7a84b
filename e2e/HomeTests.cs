using Microsoft.Playwright;

namespace MultimodalHub.E2E;

public sealed class HomeTests(PlatformFixture platform)
{
    [Fact]
    public async Task Home_lists_the_four_models_and_the_app_obeys_its_CSP()
    {
        var (context, page, errors) = await platform.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync("/");
        var rows = page.Locator("[data-testid=model-row]");
        await Assertions.Expect(rows).ToHaveCountAsync(4);
        foreach (var id in new[] { "clip-shapes", "sd-shapes", "shapes-chat", "shapes-vlm" })
            await Assertions.Expect(page.Locator($"[data-model='{id}']")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("service-status")).ToHaveTextAsync("ready");
        await Assertions.Expect(page.GetByTestId("inference-unreachable")).ToHaveCountAsync(0);

        // The page is interactive (the circuit is up): the theme toggle switches to dark and is remembered.
        await PlatformFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("theme-toggle")).ToHaveAttributeAsync("data-theme", "light");
        await page.GetByTestId("theme-toggle").ClickAsync();
        await Assertions.Expect(page.GetByTestId("theme-toggle")).ToHaveAttributeAsync("data-theme", "dark");
        await page.Mouse.MoveAsync(600, 700); // no tooltip in the picture
        await PlatformFixture.ScreenshotAsync(page, "home");
        var cookies = await context.CookiesAsync();
        Assert.Contains(cookies, c => c.Name == "hub-theme" && c.Value == "dark");

        // A reload keeps the dark theme (the server reads the cookie for the first paint).
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByTestId("theme-toggle")).ToHaveAttributeAsync("data-theme", "dark");

        PlatformFixture.AssertNoCspErrors(errors);
    }

    [Fact]
    public async Task Unknown_route_gets_the_404_page()
    {
        var (context, page, _) = await platform.NewPageAsync();
        await using var __ = context;
        var response = await page.GotoAsync("/no/such/page");
        Assert.Equal(404, response!.Status);
        await Assertions.Expect(page.GetByTestId("not-found")).ToBeVisibleAsync();
    }
}
