using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
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
        builder.AddCheck<DatabaseHealthCheck>("database");

    /// <summary>Migrates the database and marks runs a previous process left queued/running as failed.</summary>
    public static Task PrepareHubWebDataAsync(this IServiceProvider services) => services.MigrateHubDataAsync();

    public static IEndpointRouteBuilder MapHubWebEndpoints(this IEndpointRouteBuilder app)
    {
        // The owner's images (single-user app for now: everything stored belongs to the local owner).
        app.MapGet("/media/{sha256}", async (string sha256, IBlobStore blobs, CancellationToken ct) =>
            await BlobResult(await blobs.OpenAsync(sha256, ct)));
        app.MapGet("/media/{sha256}/thumb", async (string sha256, int? size, IBlobStore blobs, CancellationToken ct) =>
            await BlobResult(await blobs.OpenThumbnailAsync(sha256, size is > 16 and <= 1024 ? size : null, ct)));
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
        // Images of a share link: only those the link shares, and only while it is active.
        app.MapGet("/s/{token}/image/{sha256}", async (string token, string sha256, IShareService shares, IBlobStore blobs, CancellationToken ct) =>
        {
            var image = await shares.ResolveImageAsync(token, sha256, ct);
            return image is null ? Results.NotFound() : await BlobResult(await blobs.OpenAsync(image.Sha256, ct));
        });
        return app;
    }

    private static Task<IResult> BlobResult(BlobContent? content) => Task.FromResult(content is null
        ? Results.NotFound()
        : Results.Stream(content.Stream, content.MimeType, enableRangeProcessing: false,
            entityTag: null, lastModified: null));
}

/// <summary>/readyz: the SQLite database answers a query.</summary>
public sealed class DatabaseHealthCheck(IDbContextFactory<HubDbContext> factory) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            await using var db = await factory.CreateDbContextAsync(ct);
            return await db.Database.CanConnectAsync(ct)
                ? HealthCheckResult.Healthy("SQLite database reachable")
                : HealthCheckResult.Unhealthy("SQLite database cannot be opened");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("SQLite database error: " + e.Message);
        }
    }
}
