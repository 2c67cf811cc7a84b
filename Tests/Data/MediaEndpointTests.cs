using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MultimodalHub.Data;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Data;

public abstract class MediaEndpointTests(TestDatabase database) : IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private DataTestHost _host = null!;

    public async ValueTask InitializeAsync() =>
        _host = await DataTestHost.StartAsync(database, b => b.Services.AddHealthChecks().AddCheck<HubDataHealthCheck>("data"), app => app.MapHubMediaEndpoints(), Ct);

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Serves_images_and_thumbnails_with_sniffed_type_and_caching()
    {
        var png = HubDataHarness.Png(300, 150, SKColors.Red);
        var image = await _host.Services.GetRequiredService<IBlobStore>().PutAsync(png, MultimodalHub.Data.Entities.Owner.LocalId, Ct);

        var original = await _host.Client.GetAsync($"/media/{image.Sha256}", Ct);
        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        Assert.Equal("image/png", original.Content.Headers.ContentType?.MediaType);
        Assert.Equal(png, await original.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal("nosniff", original.Headers.GetValues("X-Content-Type-Options").Single());
        var cache = original.Headers.CacheControl!;
        Assert.True(cache.Private); // the browser's cache only, never a shared proxy cache
        Assert.False(cache.Public);
        Assert.Equal(TimeSpan.FromDays(365), cache.MaxAge);
        Assert.Contains(cache.Extensions, e => e.Name == "immutable");

        var thumb = await _host.Client.GetAsync($"/media/{image.Sha256}/thumb?size=64", Ct);
        Assert.Equal("image/webp", thumb.Content.Headers.ContentType?.MediaType);
        Assert.True(thumb.Headers.CacheControl!.Private);
        using var decoded = SKBitmap.Decode(await thumb.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal((128, 64), (decoded.Width, decoded.Height)); // 64 snaps up to the 128 size

        Assert.Equal(HttpStatusCode.NotFound, (await _host.Client.GetAsync($"/media/{new string('0', 64)}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _host.Client.GetAsync("/media/..%2F..%2Fetc%2Fpasswd", Ct)).StatusCode);
    }

    [Fact]
    public async Task Thumbnail_sizes_snap_to_a_fixed_set_so_arbitrary_sizes_cache_no_extra_files()
    {
        var image = await _host.Services.GetRequiredService<IBlobStore>().PutAsync(HubDataHarness.Png(2000, 1000, SKColors.Green), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        foreach (var (requested, expected) in new[] { (17, 128), (129, 256), (200, 256), (256, 256), (300, 512), (1000, 1024), (5000, 1024), (-3, 128) })
        {
            var response = await _host.Client.GetAsync($"/media/{image.Sha256}/thumb?size={requested}", Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var decoded = SKBitmap.Decode(await response.Content.ReadAsByteArrayAsync(Ct));
            Assert.Equal(expected, decoded.Width);
        }
        var cachedSizes = Directory.GetDirectories(Path.Combine(_host.Dir, "blobs", "thumbs")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["1024", "128", "256", "512"], cachedSizes);
    }

    [Fact]
    public async Task Shared_media_is_served_only_while_the_link_is_active()
    {
        var blobs = _host.Services.GetRequiredService<IBlobStore>();
        var runs = _host.Services.GetRequiredService<IRunStore>();
        var shares = _host.Services.GetRequiredService<IShareService>();
        var shared = await blobs.PutAsync(HubDataHarness.Png(16, 16, SKColors.Red), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var secret = await blobs.PutAsync(HubDataHarness.Png(16, 16, SKColors.Blue), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var run = await runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", InputImages: [shared.Sha256]) { OwnerId = Owner.LocalId }, Ct);
        await runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", InputImages: [secret.Sha256]) { OwnerId = Owner.LocalId }, Ct);
        var link = await shares.CreateAsync(new([run.Id]), Ct);

        var ok = await _host.Client.GetAsync($"/s/{link.Token}/media/{shared.Sha256}", Ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("no-store", ok.Headers.CacheControl?.ToString());
        Assert.Equal(HttpStatusCode.OK, (await _host.Client.GetAsync($"/s/{link.Token}/media/{shared.Sha256}?thumb=32", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _host.Client.GetAsync($"/s/{link.Token}/media/{secret.Sha256}", Ct)).StatusCode);

        await shares.RevokeAsync(link.Id, OwnerScope.Local, ct: Ct);
        Assert.Equal(HttpStatusCode.NotFound, (await _host.Client.GetAsync($"/s/{link.Token}/media/{shared.Sha256}", Ct)).StatusCode);
        Assert.Equal(0, (await shares.ListAsync(OwnerScope.Local, ct: Ct)).Single().ViewCount); // media fetches are not page views
    }

    [Fact]
    public async Task Health_check_reports_the_store_healthy()
    {
        var report = await _host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);
        Assert.Equal(HealthStatus.Healthy, report.Status);
    }
}

public sealed class MediaEndpointTestsOnSqlite() : MediaEndpointTests(TestDatabase.Sqlite);

[Collection(PostgresServer.Collection)]
public sealed class MediaEndpointTestsOnPostgres(PostgresServer server) : MediaEndpointTests(server);
