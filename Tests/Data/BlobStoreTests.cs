using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Data;

public abstract class BlobStoreTests(TestDatabase database)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Same_image_stored_twice_is_one_blob()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var png = HubDataHarness.Png(32, 16, SKColors.Red);

        var first = await hub.Blobs.PutAsync(png, Ct);
        var second = await hub.Blobs.PutAsync(new MemoryStream(png), Ct);

        var sha = Convert.ToHexStringLower(SHA256.HashData(png));
        Assert.Equal(sha, first.Sha256);
        Assert.Equal(sha, second.Sha256);
        Assert.Equal((32, 16, "image/png", (long)png.Length), (first.Width, first.Height, first.MimeType, first.ByteSize));
        var files = Directory.GetFiles(hub.BlobPath, "*", SearchOption.AllDirectories);
        Assert.Equal([Path.Combine(hub.BlobPath, sha[..2], sha[2..4], sha + ".png")], files);
        await using var db = hub.NewContext();
        Assert.Equal(1, await db.Images.CountAsync(Ct));

        using var content = await hub.Blobs.OpenAsync(sha, Ct);
        Assert.NotNull(content);
        using var copy = new MemoryStream();
        await content.Stream.CopyToAsync(copy, Ct);
        Assert.Equal(png, copy.ToArray());
    }

    [Fact]
    public async Task ReadAll_gives_the_stored_bytes_and_null_when_the_image_or_its_file_is_gone()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var jpeg = HubDataHarness.Jpeg(16, 16, SKColors.Navy);
        var image = await hub.Blobs.PutAsync(jpeg, Ct);

        var stored = await hub.Blobs.ReadAllAsync(image.Sha256, Ct);
        Assert.NotNull(stored);
        Assert.Equal(jpeg, stored.Bytes);
        Assert.Equal("image/jpeg", stored.MimeType);
        Assert.Equal("data:image/jpeg;base64," + Convert.ToBase64String(jpeg), stored.DataUrl);

        Assert.Null(await hub.Blobs.ReadAllAsync(new string('0', 64), Ct));
        File.Delete(Directory.GetFiles(hub.BlobPath, image.Sha256 + ".*", SearchOption.AllDirectories).Single());
        Assert.Null(await hub.Blobs.ReadAllAsync(image.Sha256, Ct));
    }

    [Fact]
    public async Task Concurrent_puts_of_one_image_store_it_once()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var png = HubDataHarness.Png(20, 20, SKColors.Blue);
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => hub.Blobs.PutAsync(png, Ct))));
        Assert.Single(results.Select(r => r.Sha256).Distinct());
        Assert.Single(Directory.GetFiles(hub.BlobPath, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Content_type_comes_from_the_bytes()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var jpeg = await hub.Blobs.PutAsync(HubDataHarness.Jpeg(8, 8, SKColors.Green), Ct);
        Assert.Equal("image/jpeg", jpeg.MimeType);
        Assert.EndsWith(".jpg", Directory.GetFiles(hub.BlobPath, "*", SearchOption.AllDirectories).Single());
    }

    public static TheoryData<string, byte[]> BadImages()
    {
        var png = HubDataHarness.Png(64, 64, SKColors.Orange);
        var huge = (byte[])png.Clone();
        // IHDR width/height live at bytes 16..23 (big-endian): claim 100000 x 100000.
        huge[16] = 0; huge[17] = 0x01; huge[18] = 0x86; huge[19] = 0xA0;
        huge[20] = 0; huge[21] = 0x01; huge[22] = 0x86; huge[23] = 0xA0;
        return new()
        {
            { "empty", [] },
            { "text named png", "hello, I am not a picture"u8.ToArray() },
            { "svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"10\" height=\"10\"/></svg>"u8.ToArray() },
            { "truncated png", png[..(png.Length / 2)] },
            { "png header only", png[..33] },
            { "100000x100000 claim", huge },
        };
    }

    [Theory]
    [MemberData(nameof(BadImages))]
    public async Task Bad_bytes_are_refused_and_nothing_is_written(string name, byte[] bytes)
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var ex = await Assert.ThrowsAsync<InvalidImageException>(() => hub.Blobs.PutAsync(bytes, Ct));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message), name);
        Assert.Empty(Directory.GetFiles(hub.BlobPath, "*", SearchOption.AllDirectories));
        await using var db = hub.NewContext();
        Assert.Equal(0, await db.Images.CountAsync(Ct));
    }

    [Theory]
    [InlineData("../../../etc/passwd")]
    [InlineData("..")]
    [InlineData("ABCDEF")]
    [InlineData("")]
    public async Task Ids_that_are_not_sha256_never_touch_the_disk(string id)
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        Assert.Null(await hub.Blobs.GetAsync(id, Ct));
        Assert.Null(await hub.Blobs.OpenAsync(id, Ct));
        Assert.Null(await hub.Blobs.OpenThumbnailAsync(id, 64, Ct));
        Assert.False(await hub.Blobs.DeleteIfUnreferencedAsync(id, Ct));
    }

    [Fact]
    public async Task Thumbnail_is_generated_once_and_cached()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var image = await hub.Blobs.PutAsync(HubDataHarness.Png(400, 200, SKColors.Purple), Ct);

        byte[] first;
        using (var thumb = await hub.Blobs.OpenThumbnailAsync(image.Sha256, 100, Ct))
        {
            Assert.NotNull(thumb);
            Assert.Equal("image/webp", thumb.MimeType);
            first = await ReadAll(thumb.Stream);
        }
        using (var decoded = SKBitmap.Decode(first))
            Assert.Equal((128, 64), (decoded.Width, decoded.Height)); // 100 snaps up to 128

        var cached = Directory.GetFiles(Path.Combine(hub.BlobPath, "thumbs", "128"), "*.webp", SearchOption.AllDirectories).Single();
        var written = File.GetLastWriteTimeUtc(cached);
        using (var again = await hub.Blobs.OpenThumbnailAsync(image.Sha256, 120, Ct))
        {
            Assert.IsType<FileStream>(again!.Stream); // served from the cache file, not regenerated
            Assert.Equal(first, await ReadAll(again.Stream));
        }
        Assert.Equal(written, File.GetLastWriteTimeUtc(cached));
    }

    private static async Task<byte[]> ReadAll(Stream s)
    {
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms, Ct);
        return ms.ToArray();
    }
}

public sealed class BlobStoreTestsOnSqlite() : BlobStoreTests(TestDatabase.Sqlite);

[Collection(PostgresServer.Collection)]
public sealed class BlobStoreTestsOnPostgres(PostgresServer server) : BlobStoreTests(server);
