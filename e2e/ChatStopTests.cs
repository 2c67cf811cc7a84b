using Microsoft.Playwright;

namespace MultimodalHub.E2E;

/// <summary>
/// Stopping a streamed answer. The demo model answers in milliseconds, so the test asks for a long answer honestly:
/// ignore_eos on (generation goes on past the model's end of sequence) with a high token limit.
/// </summary>
public sealed class ChatStopTests(PlatformFixture platform)
{
    [Fact]
    public async Task Stop_a_long_streamed_answer_then_continue_and_reload()
    {
        var (context, page, errors) = await platform.NewPageAsync();
        await using var __ = context;
        await page.GotoAsync("/chat");
        await PlatformFixture.WaitInteractiveAsync(page);

        // Sampler side panel: temperature 1, 1900 new tokens (the model's window is 2048), ignore end of sequence.
        await page.Locator("input[type=range]").First.FillAsync("1");
        await Assertions.Expect(page.GetByText("Temperature: 1.00")).ToBeVisibleAsync();
        var maxTokens = page.GetByLabel("Max new tokens");
        await maxTokens.FillAsync("1900");
        await maxTokens.PressAsync("Tab");
        await Assertions.Expect(maxTokens).ToHaveValueAsync("1900");
        await page.GetByTestId("ignore-eos").CheckAsync();
        await Assertions.Expect(page.GetByTestId("ignore-eos")).ToBeCheckedAsync();

        await page.GetByTestId("chat-input").FillAsync("count from one to five");
        await page.GetByTestId("send").ClickAsync();
        var answer = page.GetByTestId("assistant-message").First;
        // Wait for streamed text (the placeholder is "…"), polling often, then stop while it is still growing.
        await page.WaitForFunctionAsync("() => /\\w{2,}/.test(document.querySelector('[data-testid=assistant-message]')?.innerText ?? '')",
            null, new() { PollingInterval = 20, Timeout = 60_000 });
        await page.GetByTestId("stop").ClickAsync();

        await Assertions.Expect(page.GetByTestId("timings").First).ToContainTextAsync("stopped");
        await Assertions.Expect(page.GetByTestId("send")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("stop")).ToHaveCountAsync(0);
        var stopped = await answer.InnerTextAsync();
        await Task.Delay(1200, TestContext.Current.CancellationToken);
        Assert.Equal(stopped, await answer.InnerTextAsync()); // it no longer grows
        Assert.True(stopped.Length > 0);
        await PlatformFixture.ScreenshotAsync(page, "chat-stopped");

        // The conversation goes on: the input is usable and the next message is answered in full.
        await page.GetByTestId("ignore-eos").UncheckAsync();
        await maxTokens.FillAsync("256");
        await maxTokens.PressAsync("Tab");
        await page.GetByTestId("chat-input").FillAsync("count from one to three");
        await page.GetByTestId("send").ClickAsync();
        await Assertions.Expect(page.GetByTestId("assistant-message")).ToHaveCountAsync(2);
        await Assertions.Expect(page.GetByTestId("timings").Nth(1)).ToContainTextAsync("tokens/s", new() { Timeout = 60_000 });
        Assert.DoesNotContain("stopped", await page.GetByTestId("timings").Nth(1).InnerTextAsync());
        var second = await page.GetByTestId("assistant-message").Nth(1).InnerTextAsync();
        Assert.False(string.IsNullOrWhiteSpace(second));

        // A reload shows both turns, the stopped answer as it was when stopped.
        await page.ReloadAsync();
        await PlatformFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("user-message")).ToHaveTextAsync(["count from one to five", "count from one to three"]);
        await Assertions.Expect(page.GetByTestId("assistant-message")).ToHaveCountAsync(2);
        Assert.Equal(stopped, await page.GetByTestId("assistant-message").First.InnerTextAsync());
        Assert.Equal(second, await page.GetByTestId("assistant-message").Nth(1).InnerTextAsync());
        Assert.Empty(await page.Locator("#blazor-error-ui:visible").AllAsync());
        PlatformFixture.AssertNoCspErrors(errors);
    }
}
