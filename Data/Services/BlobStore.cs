using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Storage;
using SkiaSharp;

namespace MultimodalHub.Data.Services;

internal sealed class BlobStore(
    IDbContextFactory<HubDbContext> dbs,
    IOptions<DataOptions> options,
    TimeProvider time,
    ILogger<BlobStore> logger) : IBlobStore
{
    private readonly DataOptions _options = options.Value;
    private readonly BlobPaths _paths = new(options.Value.ResolvedBlobPath);
    // Serialises put/delete of the same image inside this process (striped by the first hash byte).
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, 16).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    public async Task<StoredImage> PutAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct = default)
    {
        var (mime, width, height) = Inspect(bytes.Span);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes.Span));
        var path = _paths.ImagePath(sha, ImageFormats.ExtensionOf(mime));

        var gate = LockFor(sha);
        await gate.WaitAsync(ct);
        try
        {
            await EnsureFileAsync(path, bytes, ct);
            await using var db = await dbs.CreateDbContextAsync(ct);
            var created = time.GetUtcNow().ToUnixTimeMilliseconds();
            await db.Database.ExecuteSqlInterpolatedAsync(
                $"""INSERT INTO "Images" ("Sha256", "Width", "Height", "MimeType", "ByteSize", "Created") VALUES ({sha}, {width}, {height}, {mime}, {(long)bytes.Length}, {created}) ON CONFLICT ("Sha256") DO UPDATE SET "Created" = CASE WHEN excluded."Created" > "Images"."Created" THEN excluded."Created" ELSE "Images"."Created" END""", ct);
            var image = await db.Images.AsNoTracking().SingleAsync(i => i.Sha256 == sha, ct);
            logger.LogDebug("Stored image {Sha256} ({Mime}, {Width}x{Height}, {Bytes} bytes)", sha, mime, width, height, bytes.Length);
            return image;
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task<StoredImage> PutAsync(Stream stream, CancellationToken ct = default)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > _options.MaxImageBytes)
                throw new InvalidImageException($"Image is larger than {_options.MaxImageBytes} bytes.");
            buffer.Write(chunk, 0, read);
        }
        return await PutAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ct);
    }

    public async Task<StoredImage> PutAsync(ReadOnlyMemory<byte> bytes, string ownerId, CancellationToken ct = default) =>
        await RecordUploadAsync(await PutAsync(bytes, ct), ownerId, ct);

    public async Task<StoredImage> PutAsync(Stream stream, string ownerId, CancellationToken ct = default) =>
        await RecordUploadAsync(await PutAsync(stream, ct), ownerId, ct);

    private async Task<StoredImage> RecordUploadAsync(StoredImage image, string ownerId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ownerId);
        await using var db = await dbs.CreateDbContextAsync(ct);
        var created = time.GetUtcNow().ToUnixTimeMilliseconds();
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"""INSERT INTO "ImageUploads" ("ImageSha256", "OwnerId", "Created") VALUES ({image.Sha256}, {ownerId}, {created}) ON CONFLICT DO NOTHING""", ct);
        return image;
    }

    public async Task<bool> CanReadAsync(string sha256, OwnerScope owner, CancellationToken ct = default)
    {
        if (!BlobPaths.IsSha256(sha256))
            return false;
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await OwnerScopeQueries.Readable(db, sha256, owner).AnyAsync(ct);
    }

    public async Task<StoredImage?> GetAsync(string sha256, CancellationToken ct = default)
    {
        if (!BlobPaths.IsSha256(sha256))
            return null;
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.Images.AsNoTracking().SingleOrDefaultAsync(i => i.Sha256 == sha256, ct);
    }

    public async Task<BlobContent?> OpenAsync(string sha256, CancellationToken ct = default)
    {
        var image = await GetAsync(sha256, ct);
        if (image is null)
            return null;
        var stream = OpenRead(_paths.ImagePath(image.Sha256, image.Extension));
        return stream is null ? null : new BlobContent(stream, image.MimeType, stream.Length);
    }

    public async Task<StoredBytes?> ReadAllAsync(string sha256, CancellationToken ct = default)
    {
        var image = await GetAsync(sha256, ct);
        return image is null || await ReadFileAsync(image, ct) is not { } bytes ? null : new StoredBytes(bytes, image.MimeType);
    }

    public async Task<BlobContent?> OpenThumbnailAsync(string sha256, int? maxSize = null, CancellationToken ct = default)
    {
        var size = ThumbnailSizes.Snap(maxSize ?? _options.DefaultThumbnailSize);
        var image = await GetAsync(sha256, ct);
        if (image is null)
            return null;
        var thumbPath = _paths.ThumbnailPath(image.Sha256, size);
        if (OpenRead(thumbPath) is { } cached)
            return new BlobContent(cached, ImageFormats.Webp, cached.Length);

        if (await ReadFileAsync(image, ct) is not { } source)
            return null;
        var thumb = MakeThumbnail(source, size);
        await EnsureFileAsync(thumbPath, thumb, ct);
        logger.LogDebug("Generated {Size}px thumbnail for {Sha256}", size, sha256);
        return new BlobContent(new MemoryStream(thumb, writable: false), ImageFormats.Webp, thumb.Length);
    }

    public Task<bool> DeleteIfUnreferencedAsync(string sha256, CancellationToken ct = default) =>
        DeleteIfUnreferencedAsync(sha256, DateTimeOffset.MaxValue, ct);

    private async Task<bool> DeleteIfUnreferencedAsync(string sha256, DateTimeOffset storedBefore, CancellationToken ct)
    {
        if (!BlobPaths.IsSha256(sha256))
            return false;
        var gate = LockFor(sha256);
        await gate.WaitAsync(ct);
        try
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            var image = await db.Images.AsNoTracking().SingleOrDefaultAsync(i => i.Sha256 == sha256, ct);
            if (image is null)
                return false;
            // One DELETE statement: the reference check and the delete are atomic.
            var deleted = await Unreferenced(db, storedBefore).Where(i => i.Sha256 == sha256).ExecuteDeleteAsync(ct);
            if (deleted == 0)
                return false;
            TryDelete(_paths.ImagePath(sha256, image.Extension));
            if (Directory.Exists(_paths.ThumbnailRoot))
                foreach (var sizeDir in Directory.EnumerateDirectories(_paths.ThumbnailRoot))
                    if (int.TryParse(Path.GetFileName(sizeDir), out var size))
                        TryDelete(_paths.ThumbnailPath(sha256, size));
            logger.LogInformation("Deleted unreferenced image {Sha256}", sha256);
            return true;
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task<int> SweepUnattachedAsync(DateTimeOffset storedBefore, int limit = 500, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        List<string> candidates;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            candidates = await Unreferenced(db, storedBefore).AsNoTracking()
                .OrderBy(i => i.Created).Select(i => i.Sha256).Take(limit).ToListAsync(ct);
        }
        var deleted = 0;
        foreach (var sha in candidates)
        {
            // Checked again inside: a run may have taken the image since the query, or a page stored it again.
            if (await DeleteIfUnreferencedAsync(sha, storedBefore, ct))
                deleted++;
        }
        return deleted;
    }

    /// <summary>Images last stored before <paramref name="storedBefore"/> that no run, chat message or A/B vote uses.</summary>
    private static IQueryable<StoredImage> Unreferenced(HubDbContext db, DateTimeOffset storedBefore) =>
        db.Images.Where(i => i.Created < storedBefore
                             && !db.RunImages.Any(r => r.ImageSha256 == i.Sha256)
                             && !db.ChatMessages.Any(m => m.ImageSha256 == i.Sha256)
                             && !db.AbVotes.Any(v => v.ImageA == i.Sha256 || v.ImageB == i.Sha256));

    private async Task<byte[]?> ReadFileAsync(StoredImage image, CancellationToken ct)
    {
        try
        {
            return await File.ReadAllBytesAsync(_paths.ImagePath(image.Sha256, image.Extension), ct);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            logger.LogWarning("Image {Sha256} has a row but no file in the blob folder", image.Sha256);
            return null;
        }
    }

    /// <summary>Sniffs the format from magic bytes, reads the header for the size, then decodes fully to reject corrupt data.</summary>
    private (string Mime, int Width, int Height) Inspect(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
            throw new InvalidImageException("Image is empty (0 bytes).");
        if (bytes.Length > _options.MaxImageBytes)
            throw new InvalidImageException($"Image is larger than {_options.MaxImageBytes} bytes.");
        var mime = ImageFormats.Sniff(bytes)
            ?? throw new InvalidImageException("Not a supported image: expected PNG, JPEG, WebP, GIF or BMP bytes.");

        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidImageException($"The {ImageFormats.ExtensionOf(mime).ToUpperInvariant()} data is corrupt or truncated.");
        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0)
            throw new InvalidImageException("Image has no pixels.");
        if ((long)info.Width * info.Height > _options.MaxImagePixels)
            throw new InvalidImageException($"Image is {info.Width}x{info.Height}, more than {_options.MaxImagePixels} pixels.");

        using var bitmap = new SKBitmap(new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var result = codec.GetPixels(bitmap.Info, bitmap.GetPixels());
        if (result is not SKCodecResult.Success)
            throw new InvalidImageException($"The {ImageFormats.ExtensionOf(mime).ToUpperInvariant()} data is corrupt or truncated ({result}).");
        return (mime, info.Width, info.Height);
    }

    private static byte[] MakeThumbnail(byte[] source, int maxSize)
    {
        using var bitmap = SKBitmap.Decode(source)
            ?? throw new InvalidImageException("Stored image cannot be decoded.");
        var scale = Math.Min(1.0, (double)maxSize / Math.Max(bitmap.Width, bitmap.Height));
        var w = Math.Max(1, (int)Math.Round(bitmap.Width * scale));
        var h = Math.Max(1, (int)Math.Round(bitmap.Height * scale));
        using var resized = bitmap.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using var image = SKImage.FromBitmap(resized);
        using var encoded = image.Encode(SKEncodedImageFormat.Webp, 80);
        return encoded.ToArray();
    }

    /// <summary>Writes to a temp file in the target folder and renames, so readers never see a partial file.</summary>
    private static async Task EnsureFileAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken ct)
    {
        if (File.Exists(path))
            return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                await file.WriteAsync(bytes, ct);
                await file.FlushAsync(ct);
            }
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another writer stored the same content first.
        }
        finally
        {
            TryDelete(temp);
        }
    }

    private static FileStream? OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, useAsync: true);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private SemaphoreSlim LockFor(string sha) => _locks[Convert.ToInt32(sha[..1], 16)];
}

/// <summary>The thumbnail sizes the store generates and caches: a requested size is snapped to the smallest one at
/// least as large (the largest beyond it), so callers cannot fill the cache with one file per arbitrary size.</summary>
public static class ThumbnailSizes
{
    public static readonly IReadOnlyList<int> All = [128, 256, 512, 1024];

    public static int Snap(int requested)
    {
        foreach (var size in All)
            if (size >= requested) return size;
        return All[^1];
    }
}
