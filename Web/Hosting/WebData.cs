using MultimodalHub.Data;
using MultimodalHub.Data.Services;
using MultimodalHub.Web.Services;

namespace MultimodalHub.Web.Hosting;

/// <summary>Data layer wiring (SQLite store, blobs) and the endpoints that serve stored images.</summary>
public static class WebData
{
    public static IServiceCollection AddHubWebData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddHubData(configuration);
        return services;
    }

    public static IHealthChecksBuilder AddHubDataCheck(this IHealthChecksBuilder builder) =>
        builder.AddCheck<HubDataHealthCheck>("data");

    /// <summary>Migrates the database and marks runs a previous process left queued/running as failed.</summary>
    public static Task PrepareHubWebDataAsync(this IServiceProvider services) => services.MigrateHubDataAsync();

    public static IEndpointRouteBuilder MapHubWebEndpoints(this IEndpointRouteBuilder app)
    {
        // The owner's images and thumbnails, and the images of active share links (Data's endpoints).
        app.MapHubMediaEndpoints();
        // A PNG with its parameters in a "parameters" tEXt chunk, as AUTOMATIC1111 writes them.
        app.MapGet("/media/{sha256}/download", async (string sha256, long? run, IBlobStore blobs, IRunStore runs, CancellationToken ct) =>
        {
            using var content = await blobs.OpenAsync(sha256, ct);
            if (content is null) return Results.NotFound();
            using var buffer = new MemoryStream();
            await content.Stream.CopyToAsync(buffer, ct);
            var bytes = buffer.ToArray();
            var source = run is { } id ? await runs.GetAsync(id, ct) : null;
            if (source is not null && content.MimeType == "image/png")
                bytes = PngParameters.Insert(bytes, "parameters", RunText.A1111Parameters(source));
            var ext = content.MimeType == "image/png" ? "png" : content.MimeType.Split('/')[^1];
            return Results.File(bytes, content.MimeType, $"hub-{(source?.Id.ToString() ?? sha256[..12])}.{ext}");
        });
        // Preference pairs (A/B votes and thumbs) as JSONL, for reward-model or DPO training sets.
        app.MapGet("/ratings/preferences.jsonl", async (HttpContext http, IRatingService ratings, CancellationToken ct) =>
        {
            http.Response.ContentType = "application/jsonl; charset=utf-8";
            http.Response.Headers.ContentDisposition = "attachment; filename=\"preferences.jsonl\"";
            await ratings.ExportPreferencePairsAsync(http.Response.Body, ct: ct);
        });
        return app;
    }
}
