using Microsoft.Playwright;

namespace MultimodalHub.E2E;

/// <summary>The inference service dies during an image job: the page says so, the run is failed (not stuck), the
/// layout shows the unreachable banner. Uses its own platform so that killing it does not disturb other tests.</summary>
public sealed class FaultTests
{
    [Fact]
    public async Task Killing_inference_mid_job_marks_the_run_failed_and_shows_the_banner()
    {
        await using var platform = new PlatformFixture();
        await platform.InitializeAsync();
        var (context, page, _) = await platform.NewPageAsync();
        await using var __ = context;
        await StartLongImagineAsync(page, "a blue star");

        platform.KillInference();

        await Assertions.Expect(page.GetByTestId("imagine-error")).ToContainTextAsync("unreachable", new() { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("inference-unreachable")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await PlatformFixture.ScreenshotAsync(page, "fault-imagine");

        await page.GotoAsync("/history");
        await Assertions.Expect(page.GetByTestId("run-status").First).ToHaveTextAsync("failed");
        await Assertions.Expect(page.GetByTestId("run-status").Filter(new() { HasText = "running" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Killing_web_mid_job_then_restarting_recovers_the_run_as_failed()
    {
        await using var platform = new PlatformFixture();
        await platform.InitializeAsync();
        var (context, page, _) = await platform.NewPageAsync();
        await using (context)
        {
            await StartLongImagineAsync(page, "a purple square");

            // Kill while the page is still open: closing the tab first would end the circuit gracefully, which
            // (correctly) records the run as cancelled before the kill, and this test is about a crash.
            await platform.RestartWebAsync();
        }

        var (context2, page2, _) = await platform.NewPageAsync();
        await using (context2)
        {
            await page2.GotoAsync("/history");
            await Assertions.Expect(page2.GetByTestId("run-status")).ToHaveCountAsync(1);
            await Assertions.Expect(page2.GetByTestId("run-status").First).ToHaveTextAsync("failed");
            await PlatformFixture.ScreenshotAsync(page2, "fault-web-restart");
        }
    }

    /// <summary>Starts a long image job on /imagine (150 steps, the range input at 8) and waits until it reports progress.</summary>
    private static async Task StartLongImagineAsync(IPage page, string prompt)
    {
        await page.GotoAsync("/imagine");
        await PlatformFixture.WaitInteractiveAsync(page);
        await page.GetByTestId("prompt").FillAsync(prompt);
        await page.GetByTestId("steps").FillAsync("150");
        await page.GetByTestId("steps").PressAsync("Tab");
        await page.Locator("input[type=range]").EvaluateAsync("i => { i.value = 8; i.dispatchEvent(new Event('input', { bubbles: true })); i.dispatchEvent(new Event('change', { bubbles: true })); }");
        await page.GetByTestId("generate").ClickAsync();
        await Assertions.Expect(page.GetByTestId("progress")).ToContainTextAsync("step", new() { Timeout = 60_000 });
    }
}
