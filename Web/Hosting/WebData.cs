using MultimodalHub.Data;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Services;

namespace MultimodalHub.Web.Hosting;

/// <summary>Data layer wiring (SQLite store, blobs) and the endpoints that serve stored images.</summary>
public static class WebData
{
    public static IHealthChecksBuilder AddHubDataCheck(this IHealthChecksBuilder builder) =>
        builder.AddCheck<HubDataHealthCheck>("data");

    public static IEndpointRouteBuilder MapHubWebEndpoints(this IEndpointRouteBuilder app)
    {
        // The owner's images and thumbnails, and the images of active share links (Data's endpoints).
        app.MapHubMediaEndpoints();
        // The stored bytes unchanged, as a download with a readable file name. Generated PNGs already carry their own
        // per-image "parameters" tEXt chunk (AUTOMATIC1111 style), written by the inference service.
        app.MapGet("/media/{sha256}/download", async (string sha256, long? run, IBlobStore blobs, HttpContext http, CancellationToken ct) =>
        {
            if (!await HubMediaEndpoints.CanReadAsync(http, blobs, sha256, ct)) return Results.NotFound();
            var content = await blobs.OpenAsync(sha256, ct);
            if (content is null) return Results.NotFound();
            var ext = content.MimeType.Split('/')[^1];
            var name = run is { } id ? $"hub-{id}-{sha256[..8]}.{ext}" : $"hub-{sha256[..12]}.{ext}";
            return Results.Stream(content.Stream, content.MimeType, name);
        });
        // Preference pairs (A/B votes and thumbs) as JSONL, for reward-model or DPO training sets.
        app.MapGet("/ratings/preferences.jsonl", async (HttpContext http, IRatingService ratings, CancellationToken ct) =>
        {
            http.Response.ContentType = "application/jsonl; charset=utf-8";
            http.Response.Headers.ContentDisposition = "attachment; filename=\"preferences.jsonl\"";
            await ratings.ExportPreferencePairsAsync(http.Response.Body, OwnerScope.Of(http.User)!, ct);
        });
        return app;
    }
}
