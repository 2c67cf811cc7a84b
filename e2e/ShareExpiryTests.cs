using Microsoft.Data.Sqlite;
using Microsoft.Playwright;

namespace MultimodalHub.E2E;

/// <summary>
/// An expired share link 404s. The link is made with a 1-hour expiry through the UI; the test then moves its clock by
/// rewriting the link's expiry in the platform's own (temporary) SQLite file, as an hour passing would.
/// </summary>
public sealed class ShareExpiryTests(PlatformFixture platform)
{
    private const string Question = "how many sides does a square have?";

    [Fact]
    public async Task An_expired_link_404s_like_an_unknown_one()
    {
        var (context, page, _) = await platform.NewPageAsync();
        await using var __ = context;

        // Something to share: a chat answer.
        await page.GotoAsync("/chat");
        await PlatformFixture.WaitInteractiveAsync(page);
        await page.GetByTestId("chat-input").FillAsync(Question);
        await page.GetByTestId("send").ClickAsync();
        await Assertions.Expect(page.GetByTestId("timings")).ToContainTextAsync("tokens/s", new() { Timeout = 60_000 });

        // Share it from History with "in 1 hour".
        await page.GotoAsync("/history");
        await PlatformFixture.WaitInteractiveAsync(page);
        var row = page.Locator("[data-testid=history] tbody tr", new() { HasText = Question }).First;
        await row.Locator("td").Nth(2).ClickAsync();
        await page.GetByTestId("share").ClickAsync();
        await page.Locator(".mud-dialog .mud-select").Last.ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = "in 1 hour" }).ClickAsync();
        await page.GetByTestId("share-create").ClickAsync();
        var url = await page.GetByTestId("share-url").InputValueAsync();
        var token = url[(url.LastIndexOf('/') + 1)..];
        var dbPath = Path.Combine(platform.DataDir, "hub.db");
        var before = DateTimeOffset.UtcNow;

        // The stored expiry is an hour from now (UTC unix milliseconds).
        var stored = await ExpiryAsync(dbPath, token);
        Assert.NotNull(stored);
        var inOneHour = before.AddHours(1).ToUnixTimeMilliseconds();
        Assert.InRange(stored.Value, inOneHour - 120_000, inOneHour + 120_000);

        var (viewerContext, viewer, _) = await platform.NewAnonymousPageAsync();
        await using (viewerContext)
        {
            var live = await viewer.GotoAsync(url);
            Assert.Equal(200, live!.Status);
            await Assertions.Expect(viewer.GetByTestId("not-found")).ToHaveCountAsync(0);
            Assert.Equal(1, await ViewCountAsync(dbPath, token)); // one page load, one view

            // An hour and a minute pass: the expiry is now in the past.
            await SetExpiryAsync(dbPath, token, before.AddMinutes(-1).ToUnixTimeMilliseconds());
            var expired = await viewer.ReloadAsync();
            Assert.Equal(404, expired!.Status);
            await Assertions.Expect(viewer.GetByTestId("not-found")).ToBeVisibleAsync();
            var expiredPage = await viewer.GetByTestId("not-found").EvaluateAsync<string>("e => e.outerHTML");
            var expiredTitle = await viewer.TitleAsync();
            await PlatformFixture.ScreenshotAsync(viewer, "shared-expired");

            // The same page as an unknown token: nothing tells the two apart.
            var unknown = await viewer.GotoAsync("/s/" + new string('A', token.Length));
            Assert.Equal(404, unknown!.Status);
            Assert.Equal(expiredPage, await viewer.GetByTestId("not-found").EvaluateAsync<string>("e => e.outerHTML"));
            Assert.Equal(expiredTitle, await viewer.TitleAsync());
        }
    }

    private static SqliteConnection Open(string dbPath)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static Task<long?> ExpiryAsync(string dbPath, string token) => LinkColumnAsync(dbPath, token, "ExpiresAt");

    private static Task<long?> ViewCountAsync(string dbPath, string token) => LinkColumnAsync(dbPath, token, "ViewCount");

    private static async Task<long?> LinkColumnAsync(string dbPath, string token, string column)
    {
        await using var connection = Open(dbPath);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {column} FROM ShareLinks WHERE Token = $token";
        command.Parameters.AddWithValue("$token", token);
        return await command.ExecuteScalarAsync() is long value ? value : null;
    }

    private static async Task SetExpiryAsync(string dbPath, string token, long unixMs)
    {
        await using var connection = Open(dbPath);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE ShareLinks SET ExpiresAt = $expires WHERE Token = $token";
        command.Parameters.AddWithValue("$expires", unixMs);
        command.Parameters.AddWithValue("$token", token);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }
}
