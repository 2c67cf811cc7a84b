using Microsoft.Playwright;

namespace MultimodalHub.E2E;

/// <summary>The Evaluate page's arena in Chromium on the real platform: two settings of the demo chat model answer one
/// prompt side by side, the vote reveals who was who and ranks them.</summary>
public sealed class ArenaTests(PlatformFixture platform)
{
    [Fact]
    public async Task Arena_streams_two_answers_hides_the_names_until_the_vote_then_ranks_them()
    {
        var (context, page, errors) = await platform.NewPageAsync();
        await using var __ = context;
        await page.GotoAsync("/evaluate");
        await PlatformFixture.WaitInteractiveAsync(page);
        await page.Locator(".mud-tab", new() { HasText = "Arena" }).ClickAsync();
        await page.GetByTestId("arena-prompt").FillAsync("write a prompt for a picture of a blue square");
        await page.GetByTestId("arena-seed-2").FillAsync("5");
        await page.GetByTestId("arena-seed-2").PressAsync("Tab");
        await page.GetByTestId("arena-run").ClickAsync();

        foreach (var side in new[] { "a", "b" })
        {
            await Assertions.Expect(page.GetByTestId($"arena-side-{side}")).ToHaveAttributeAsync("data-done", "true", new() { Timeout = 90_000 });
            await Assertions.Expect(page.GetByTestId($"arena-name-{side}")).ToContainTextAsync("hidden until you vote");
            Assert.NotEqual("", (await page.GetByTestId($"arena-answer-{side}").InnerTextAsync()).Trim());
        }
        await Assertions.Expect(page.GetByTestId("arena-error")).ToHaveCountAsync(0);

        await page.GetByTestId("arena-vote-b").ClickAsync();
        await Assertions.Expect(page.GetByTestId("arena-voted")).ToContainTextAsync("B is better");
        var winner = await page.GetByTestId("arena-name-b").GetAttributeAsync("data-contender");
        var loser = await page.GetByTestId("arena-name-a").GetAttributeAsync("data-contender");
        Assert.Equal(new[] { "shapes-chat · temperature 0 · top-p 1 · 64 tokens", "shapes-chat · temperature 1 · top-p 1 · 64 tokens · seed 5" },
            new[] { winner!, loser! }.Order());
        await Assertions.Expect(page.GetByTestId("arena-name-b")).ToContainTextAsync(winner!);

        var rows = page.GetByTestId("arena-elo-row");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        await Assertions.Expect(rows.First).ToHaveAttributeAsync("data-contender", winner!);
        await Assertions.Expect(rows.First).ToContainTextAsync("1516");
        await Assertions.Expect(rows.Last).ToContainTextAsync("1484");
        await PlatformFixture.ScreenshotAsync(page, "arena");
        PlatformFixture.AssertNoCspErrors(errors);
    }
}
