using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Services;

namespace MultimodalHub.Data;

/// <summary>Minimal-API endpoints serving stored images and thumbnails, for the gallery and the share pages.
/// The content type comes from the stored (sniffed) mime type; responses carry nosniff.</summary>
public static class HubMediaEndpoints
{
    /// <summary>
    /// Only for images the signed-in account may read (<see cref="IBlobStore.CanReadAsync"/>; admins: all): anyone
    /// else gets the same 404 as for an unknown hash (401 when not signed in; the app's authorization does that).
    /// GET {prefix}/{sha256}              original bytes (immutable, cached a year by the browser only: private)
    /// GET {prefix}/{sha256}/thumb?size=N WebP thumbnail, longest side ≤ N snapped up to 128/256/512/1024 (default from DataOptions)
    /// GET /s/{token}/media/{sha256}[?thumb=N]  the same, only for images of an active share link; otherwise 404
    /// (the same 404 for unknown, expired and revoked links), never cached so revocation takes effect at once.
    /// </summary>
    public static IEndpointRouteBuilder MapHubMediaEndpoints(this IEndpointRouteBuilder app, string prefix = "/media")
    {
        var media = app.MapGroup(prefix).WithTags("media");
        media.MapGet("/{sha256}", async (string sha256, IBlobStore blobs, HttpContext http, CancellationToken ct) =>
            await CanReadAsync(http, blobs, sha256, ct)
                ? Serve(http, await blobs.OpenAsync(sha256, ct), sha256, immutable: true)
                : Results.NotFound());
        media.MapGet("/{sha256}/thumb", async (string sha256, int? size, IBlobStore blobs, HttpContext http, CancellationToken ct) =>
            await CanReadAsync(http, blobs, sha256, ct)
                ? Serve(http, await blobs.OpenThumbnailAsync(sha256, size, ct), $"{sha256}-{(size is { } s ? ThumbnailSizes.Snap(s) : 0)}", immutable: true)
                : Results.NotFound());

        app.MapGet("/s/{token}/media/{sha256}", async (string token, string sha256, int? thumb, IShareService shares, IBlobStore blobs, HttpContext http, CancellationToken ct) =>
        {
            // A shared image always has its row (runs restrict image deletion); the blob store answers 404 if its file is gone.
            if (!await shares.IsImageSharedAsync(token, sha256, ct))
                return Results.NotFound();
            var content = thumb is null ? await blobs.OpenAsync(sha256, ct) : await blobs.OpenThumbnailAsync(sha256, thumb, ct);
            return Serve(http, content, sha256, immutable: false);
        }).WithTags("media").AllowAnonymous();
        return app;
    }

    /// <summary>Whether the request's signed-in account may read the image (false when nobody is signed in).</summary>
    public static async Task<bool> CanReadAsync(HttpContext http, IBlobStore blobs, string sha256, CancellationToken ct) =>
        OwnerScope.Of(http.User) is { } owner && await blobs.CanReadAsync(sha256, owner, ct);

    private static IResult Serve(HttpContext http, BlobContent? content, string etag, bool immutable)
    {
        if (content is null)
            return Results.NotFound();
        http.Response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        http.Response.Headers[HeaderNames.CacheControl] = immutable ? "private, max-age=31536000, immutable" : "no-store";
        return Results.Stream(content.Stream, content.MimeType, entityTag: new EntityTagHeaderValue($"\"{etag}\""));
    }
}
