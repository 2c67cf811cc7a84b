using Microsoft.Playwright;

namespace MultimodalHub.E2E;

/// <summary>The engines through the browser, on the real platform.</summary>
public sealed class FlowTests(PlatformFixture platform)
{
    [Fact]
    public async Task Classify_an_uploaded_golden_image_ranks_red_circle_first()
    {
        var (context, page, _) = await platform.NewPageAsync();
        await using var __ = context;
        await page.GotoAsync("/classify");
        await PlatformFixture.WaitInteractiveAsync(page);
        await PlatformFixture.UploadAsync(page, page.GetByTestId("input-image"), PlatformFixture.PngFile(Path.Combine(PlatformFixture.RepoRoot, "models", "clip-shapes", "goldens", "image0.png")));
        await Assertions.Expect(page.GetByTestId("input-image")).ToHaveCountAsync(1);
        await page.GetByTestId("classify").ClickAsync();
        await Assertions.Expect(page.GetByTestId("score-label").First).ToHaveTextAsync("red circle", new() { Timeout = 60_000 });
        await PlatformFixture.ScreenshotAsync(page, "classify");
    }

    [Fact]
    public async Task Describe_captions_an_image_then_answers_a_question()
    {
        var (context, page, _) = await platform.NewPageAsync();
        await using var __ = context;
        await page.GotoAsync("/describe");
        await PlatformFixture.WaitInteractiveAsync(page);
        await PlatformFixture.UploadAsync(page, page.GetByTestId("describe-image"), PlatformFixture.PngFile(Path.Combine(PlatformFixture.RepoRoot, "models", "shapes-vlm", "goldens", "g1_red_circle_caption.png")));
        await Assertions.Expect(page.GetByTestId("caption")).ToHaveTextAsync("a large red circle in the center", new() { Timeout = 60_000 });
        await page.GetByTestId("question-input").FillAsync("what shape is it?");
        await page.GetByTestId("ask").ClickAsync();
        await Assertions.Expect(page.GetByTestId("answer")).ToHaveTextAsync("circle", new() { Timeout = 60_000 });
        await PlatformFixture.ScreenshotAsync(page, "describe");
    }

    [Fact]
    public async Task AB_vote_between_two_settings_ranks_them_and_exports_a_preference_pair()
    {
        var (context, page, _) = await platform.NewPageAsync();
        await using var __ = context;
        await page.GotoAsync("/imagine?prompt=a%20green%20star");
        await PlatformFixture.WaitInteractiveAsync(page);
        foreach (var steps in new[] { "8", "20" })
        {
            await page.GetByTestId("steps").FillAsync(steps);
            await page.GetByTestId("steps").PressAsync("Tab");
            await page.GetByTestId("generate").ClickAsync();
            await Assertions.Expect(page.GetByTestId("generate")).ToBeEnabledAsync(new() { Timeout = 120_000 });
            await Assertions.Expect(page.GetByTestId("imagine-error")).ToHaveCountAsync(0);
            await Assertions.Expect(page.GetByTestId("progress")).ToContainTextAsync($"{steps} steps");
        }
        await page.GotoAsync("/ratings");
        await PlatformFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("ab")).ToContainTextAsync("a green star");
        await page.GetByTestId("vote-a").ClickAsync();
        // Both of this test's settings are ranked, one with the win and one with the loss (the table also holds
        // other tests' votes: the chat arena's go into the same Elo).
        var rows = page.GetByTestId("elo").Locator("tbody tr");
        await Assertions.Expect(rows.Filter(new() { HasText = "· 8 steps ·" })).ToHaveCountAsync(1);
        await Assertions.Expect(rows.Filter(new() { HasText = "· 20 steps ·" })).ToHaveCountAsync(1);
        await Assertions.Expect(rows.Filter(new() { HasText = "steps ·" }).Filter(new() { HasText = "1-0-0" })).ToHaveCountAsync(1);
        await Assertions.Expect(rows.Filter(new() { HasText = "steps ·" }).Filter(new() { HasText = "0-1-0" })).ToHaveCountAsync(1);
        await PlatformFixture.ScreenshotAsync(page, "ratings");
        var export = await context.APIRequest.GetAsync("/ratings/preferences.jsonl");
        Assert.Equal(200, export.Status);
        Assert.Contains("\"prompt\":\"a green star\"", await export.TextAsync());
    }

    [Fact]
    public async Task Bad_uploads_get_a_readable_message()
    {
        var (context, page, errors) = await platform.NewPageAsync();
        await using var __ = context;
        await page.GotoAsync("/classify");
        await PlatformFixture.WaitInteractiveAsync(page);
        await PlatformFixture.UploadAsync(page, page.GetByTestId("upload-error"), new FilePayload { Name = "notes.png", MimeType = "image/png", Buffer = "this is not an image"u8.ToArray() });
        await Assertions.Expect(page.GetByTestId("upload-error")).ToContainTextAsync("notes.png");
        var png = await File.ReadAllBytesAsync(Path.Combine(PlatformFixture.RepoRoot, "models", "clip-shapes", "goldens", "image0.png"), TestContext.Current.CancellationToken);
        await page.Locator("input[type=file]").Last.SetInputFilesAsync(new FilePayload { Name = "truncated.png", MimeType = "image/png", Buffer = png[..(png.Length / 3)] });
        await Assertions.Expect(page.GetByTestId("upload-error")).ToContainTextAsync("truncated.png");
        await Assertions.Expect(page.GetByTestId("input-image")).ToHaveCountAsync(0);
        // The circuit survived: the page still works.
        await page.GetByTestId("classify").ClickAsync();
        await Assertions.Expect(page.GetByTestId("classify-error")).ToContainTextAsync("Add at least one image");
        Assert.Empty(await page.Locator("#blazor-error-ui:visible").AllAsync());
        PlatformFixture.AssertNoCspErrors(errors);
    }

    [Fact]
    public async Task Chat_streams_an_answer()
    {
        var (context, page, _) = await platform.NewPageAsync();
        await using var __ = context;
        await page.GotoAsync("/chat");
        await PlatformFixture.WaitInteractiveAsync(page);
        await page.GetByTestId("chat-input").FillAsync("count from one to five");
        await page.GetByTestId("send").ClickAsync();
        await Assertions.Expect(page.GetByTestId("user-message")).ToHaveTextAsync("count from one to five");
        await Assertions.Expect(page.GetByTestId("assistant-message")).ToContainTextAsync("five", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("timings")).ToContainTextAsync("tokens/s", new() { Timeout = 30_000 });
        await PlatformFixture.ScreenshotAsync(page, "chat");
        // The conversation is stored: a reload shows it again.
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByTestId("assistant-message")).ToContainTextAsync("five");
        var firstUrl = page.Url;

        // Edit and resend: a new branch holding the edited question and its own answer; the original stays.
        await PlatformFixture.WaitInteractiveAsync(page);
        await page.GetByTestId("edit-message").ClickAsync();
        await Assertions.Expect(page.GetByTestId("chat-input")).ToHaveValueAsync("count from one to five");
        Assert.NotEqual(firstUrl, page.Url);
        await page.GetByTestId("chat-input").FillAsync("count from one to three");
        await page.GetByTestId("send").ClickAsync();
        await Assertions.Expect(page.GetByTestId("assistant-message")).ToContainTextAsync("three", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("user-message")).ToHaveCountAsync(1);
        await page.GotoAsync(firstUrl);
        await Assertions.Expect(page.GetByTestId("user-message")).ToHaveTextAsync("count from one to five");
    }

    [Fact]
    public async Task Imagine_then_gallery_then_share_then_revoke()
    {
        var (context, page, errors) = await platform.NewPageAsync();
        await using var __ = context;
        await page.GotoAsync("/imagine");
        await PlatformFixture.WaitInteractiveAsync(page);
        await page.GetByTestId("prompt").FillAsync("a red circle");
        await page.GetByTestId("seed").FillAsync("7");
        await page.GetByTestId("seed-lock").ClickAsync();
        await page.GetByTestId("generate").ClickAsync();
        await Assertions.Expect(page.GetByTestId("result-image")).ToHaveCountAsync(1, new() { Timeout = 120_000 });
        await Assertions.Expect(page.GetByTestId("progress")).ToContainTextAsync("seed 7");
        await PlatformFixture.ScreenshotAsync(page, "imagine");

        await page.GotoAsync("/gallery");
        await PlatformFixture.WaitInteractiveAsync(page);
        var item = page.Locator("[data-testid=gallery-item]", new() { HasText = "a red circle" }).First;
        await Assertions.Expect(item).ToBeVisibleAsync();
        await PlatformFixture.ScreenshotAsync(page, "gallery");
        // Full-text search finds it by its prompt; a query matching nothing shows nothing.
        await page.GetByTestId("gallery-search").FillAsync("nothingmatchesthis");
        await page.GetByTestId("gallery-search").PressAsync("Enter");
        await Assertions.Expect(page.GetByTestId("gallery-item")).ToHaveCountAsync(0);
        await page.GetByTestId("gallery-search").FillAsync("red circle");
        await page.GetByTestId("gallery-search").PressAsync("Enter");
        await Assertions.Expect(item).ToBeVisibleAsync();
        // Semantic search through CLIP: the gallery's images are embedded on demand and ranked against the text.
        await page.GetByTestId("semantic").CheckAsync();
        await Assertions.Expect(page.Locator("[data-testid=gallery-item]").First).ToContainTextAsync("red circle");
        await page.ReloadAsync();
        await PlatformFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(item).ToBeVisibleAsync();
        await item.ClickAsync();
        await Assertions.Expect(page.GetByTestId("details-parameters")).ToContainTextAsync("a red circle");
        await Assertions.Expect(page.GetByTestId("details-parameters")).ToContainTextAsync("7");
        await page.GetByTestId("share").ClickAsync();
        await page.GetByTestId("share-create").ClickAsync();
        var url = await page.GetByTestId("share-url").InputValueAsync();
        Assert.Matches(@"/s/[A-Za-z0-9_-]{22,}$", url);

        // A fresh browser context (no cookies) sees the image and its parameters, read-only.
        var (viewerContext, viewer, _) = await platform.NewAnonymousPageAsync();
        await using (viewerContext)
        {
            var shared = await viewer.GotoAsync(url);
            Assert.Equal(200, shared!.Status);
            await Assertions.Expect(viewer.GetByTestId("shared-image")).ToHaveCountAsync(1);
            await Assertions.Expect(viewer.GetByTestId("shared-parameters")).ToContainTextAsync("a red circle");
            await Assertions.Expect(viewer.Locator("meta[property='og:image']")).ToHaveCountAsync(1);
            var img = await viewer.GetByTestId("shared-image").EvaluateAsync<int>("i => i.naturalWidth");
            Assert.True(img > 0, "the shared image loads");
            await PlatformFixture.ScreenshotAsync(viewer, "shared");
        }

        await page.GotoAsync("/history");
        // This test's run (other tests on the same platform may have newer ones still running).
        var row = page.Locator("[data-testid=history] tbody tr").Filter(new() { HasText = "a red circle" }).First;
        await Assertions.Expect(row.GetByTestId("run-status")).ToHaveTextAsync("succeeded");
        await PlatformFixture.ScreenshotAsync(page, "history");

        await page.GotoAsync("/shared");
        await PlatformFixture.WaitInteractiveAsync(page);
        // This test's link (other tests of the run may have shared links of their own on the same platform).
        var token = url[(url.LastIndexOf('/') + 1)..];
        var link = page.Locator("[data-testid=links] tbody tr").Filter(new() { Has = page.Locator($"a[href='s/{token}']") });
        await Assertions.Expect(link).ToHaveCountAsync(1);
        await Assertions.Expect(link.GetByTestId("link-views")).ToHaveTextAsync("1");
        await link.GetByTestId("revoke").ClickAsync();
        await Assertions.Expect(link.GetByTestId("revoke")).ToHaveCountAsync(0);

        var (afterContext, after, _) = await platform.NewAnonymousPageAsync();
        await using (afterContext)
        {
            var revoked = await after.GotoAsync(url);
            Assert.Equal(404, revoked!.Status);
            await Assertions.Expect(after.GetByTestId("not-found")).ToBeVisibleAsync();
            var unknown = await after.GotoAsync("/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            Assert.Equal(404, unknown!.Status);
        }
        PlatformFixture.AssertNoCspErrors(errors);
    }
}
