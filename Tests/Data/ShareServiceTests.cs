using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Data;

public abstract class ShareServiceTests(TestDatabase database)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Tokens_are_unique_url_safe_and_at_least_128_bits()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var run = await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm") { OwnerId = Owner.LocalId }, Ct);
        var tokens = new List<string>();
        for (var i = 0; i < 200; i++)
            tokens.Add((await hub.Shares.CreateAsync(new([run.Id]), Ct)).Token);

        Assert.Equal(tokens.Count, tokens.Distinct(StringComparer.Ordinal).Count());
        Assert.All(tokens, t =>
        {
            Assert.True(t.Length >= 22, t); // 22 base64 chars = 132 bits ≥ 128
            Assert.Matches("^[A-Za-z0-9_-]+$", t);
        });
        // Random, not sequential: the characters at every position vary across tokens.
        Assert.All(Enumerable.Range(0, 22), i => Assert.True(tokens.Select(t => t[i]).Distinct().Count() > 10));
    }

    [Theory]
    [InlineData(ShareExpiry.OneHour, 1.0)]
    [InlineData(ShareExpiry.OneDay, 24.0)]
    [InlineData(ShareExpiry.SevenDays, 168.0)]
    public async Task Links_expire_as_specified(ShareExpiry expiry, double hours)
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var run = await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", "what shape?") { OwnerId = Owner.LocalId }, Ct);
        var link = await hub.Shares.CreateAsync(new([run.Id], expiry), Ct);
        Assert.Equal(clock.GetUtcNow().AddHours(hours).ToUnixTimeMilliseconds(), link.ExpiresAt!.Value.ToUnixTimeMilliseconds());

        clock.Advance(TimeSpan.FromHours(hours) - TimeSpan.FromSeconds(1));
        Assert.NotNull(await hub.Shares.ResolveAsync(link.Token, ct: Ct));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await hub.Shares.ResolveAsync(link.Token, ct: Ct));
        Assert.False((await hub.Shares.ListAsync(OwnerScope.Local, ct: Ct)).Single().IsActive);
    }

    [Fact]
    public async Task Never_expiring_link_lives_until_revoked()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var run = await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm") { OwnerId = Owner.LocalId }, Ct);
        var link = await hub.Shares.CreateAsync(new([run.Id], ShareExpiry.Never), Ct);
        Assert.Null(link.ExpiresAt);
        clock.Advance(TimeSpan.FromDays(3650));
        Assert.NotNull(await hub.Shares.ResolveAsync(link.Token, ct: Ct));

        Assert.False(await hub.Shares.RevokeAsync(link.Id, new OwnerScope("someone-else"), Ct)); // only the owner
        Assert.NotNull(await hub.Shares.ResolveAsync(link.Token, ct: Ct));
        Assert.True(await hub.Shares.RevokeAsync(link.Id, OwnerScope.Local, ct: Ct));
        Assert.Null(await hub.Shares.ResolveAsync(link.Token, ct: Ct));
        Assert.Null(await hub.Shares.ResolveAsync(link.Token, countView: false, Ct));
        var listed = Assert.Single(await hub.Shares.ListAsync(OwnerScope.Local, ct: Ct));
        Assert.True(listed.Revoked);
        Assert.False(listed.IsActive);
    }

    [Fact]
    public async Task Unknown_expired_and_revoked_tokens_resolve_identically()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var image = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Red), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var run = await hub.Runs.CreateAsync(new(RunKind.Classify, "clip-shapes", "red,blue", InputImages: [image.Sha256]) { OwnerId = Owner.LocalId }, Ct);
        var expired = await hub.Shares.CreateAsync(new([run.Id], ShareExpiry.OneHour), Ct);
        var revoked = await hub.Shares.CreateAsync(new([run.Id]), Ct);
        await hub.Shares.RevokeAsync(revoked.Id, OwnerScope.Local, ct: Ct);
        clock.Advance(TimeSpan.FromHours(2));

        string[] tokens = [expired.Token, revoked.Token, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "../../etc/passwd", "", "x"];
        foreach (var token in tokens)
        {
            Assert.Null(await hub.Shares.ResolveAsync(token, ct: Ct));
            Assert.False(await hub.Shares.IsImageSharedAsync(token, image.Sha256, Ct));
        }
        Assert.All(await hub.Shares.ListAsync(OwnerScope.Local, ct: Ct), l => Assert.Equal(0, l.ViewCount)); // no views counted
    }

    [Fact]
    public async Task Resolve_reveals_only_the_shared_runs_and_counts_views_atomically()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var sharedImage = await hub.Blobs.PutAsync(HubDataHarness.Png(12, 10, SKColors.Red), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var privateImage = await hub.Blobs.PutAsync(HubDataHarness.Png(12, 10, SKColors.Blue), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var a = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "a red star", "blurry", """{"seed":1}""") { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(a.Id, new(OutputImages: [sharedImage.Sha256]), Ct);
        var b = await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", InputImages: [sharedImage.Sha256]) { OwnerId = Owner.LocalId }, Ct);
        await hub.Runs.MarkSucceededAsync(b.Id, new(Text: "a red star"), Ct);
        var hidden = await hub.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "secret", InputImages: [privateImage.Sha256]) { OwnerId = Owner.LocalId }, Ct);

        var link = await hub.Shares.CreateAsync(new([b.Id, a.Id], Title: "  My stars  "), Ct);
        Assert.Equal(ShareKind.Collection, link.Kind);

        var content = await hub.Shares.ResolveAsync(link.Token, ct: Ct);
        Assert.NotNull(content);
        Assert.Equal("My stars", content.Title);
        Assert.Equal([b.Id, a.Id], content.Runs.Select(r => r.Id));
        var star = content.Runs[1];
        Assert.Equal(("a red star", "blurry", """{"seed":1}"""), (star.Prompt, star.NegativePrompt, star.ParametersJson));
        Assert.Equal((sharedImage.Sha256, 12, 10), (star.Images[0].Sha256, star.Images[0].Width, star.Images[0].Height));
        Assert.Equal("a red star", content.Runs[0].OutputText);
        Assert.DoesNotContain(content.Runs, r => r.Id == hidden.Id);

        Assert.True(await hub.Shares.IsImageSharedAsync(link.Token, sharedImage.Sha256, Ct));
        Assert.False(await hub.Shares.IsImageSharedAsync(link.Token, privateImage.Sha256, Ct));

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => hub.Shares.ResolveAsync(link.Token, ct: Ct))));
        Assert.Equal(21, (await hub.Shares.ListAsync(OwnerScope.Local, ct: Ct)).Single().ViewCount);
        Assert.Equal(21, (await hub.Shares.ResolveAsync(link.Token, countView: false, Ct))!.ViewCount);
    }

    [Fact]
    public async Task Deleted_runs_disappear_from_links_and_invalid_requests_are_refused()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var run = await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm") { OwnerId = Owner.LocalId }, Ct);
        var link = await hub.Shares.CreateAsync(new([run.Id]), Ct);
        Assert.Equal(ShareKind.Run, link.Kind);
        await hub.Runs.DeleteAsync(run.Id, OwnerScope.Local, Ct);
        Assert.Null(await hub.Shares.ResolveAsync(link.Token, ct: Ct));

        await Assert.ThrowsAsync<ArgumentException>(() => hub.Shares.CreateAsync(new([]), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => hub.Shares.CreateAsync(new([12345]), Ct));
        var other = await hub.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm") { OwnerId = Owner.LocalId }, Ct);
        await Assert.ThrowsAsync<ArgumentException>(() => hub.Shares.CreateAsync(new([other.Id], OwnerId: "mallory"), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => hub.Shares.CreateAsync(new([other.Id], (ShareExpiry)99), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => hub.Shares.CreateAsync(new([other.Id], Title: new string('t', 201)), Ct));
    }
}

public sealed class ShareServiceTestsOnSqlite() : ShareServiceTests(TestDatabase.Sqlite);

[Collection(PostgresServer.Collection)]
public sealed class ShareServiceTestsOnPostgres(PostgresServer server) : ShareServiceTests(server);
