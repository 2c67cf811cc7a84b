using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MultimodalHub.Inference.Hosting;

/// <summary>Configuration section "Limits": request sizes and per-client rate limiting.</summary>
public sealed class ServiceLimitsOptions
{
    public const string Section = "Limits";

    /// <summary>Largest request body (JSON with base64 images, multipart uploads).</summary>
    public long MaxRequestBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Requests per client (remote address) per minute on /v1; 0 turns rate limiting off.</summary>
    public int RequestsPerMinute { get; set; } = 600;

    /// <summary>How long in-flight requests may finish after a stop signal before they are cancelled.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>Body-size limits, rate limiting, graceful shutdown, security headers and tracing for the service.</summary>
public static class ServiceLimits
{
    public const string ApiPolicy = "api";

    public static WebApplicationBuilder AddServiceLimits(this WebApplicationBuilder builder)
    {
        var limits = builder.Configuration.GetSection(ServiceLimitsOptions.Section).Get<ServiceLimitsOptions>() ?? new();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = limits.MaxRequestBytes);
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(f => f.MultipartBodyLengthLimit = limits.MaxRequestBytes);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = limits.ShutdownTimeout);
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = async (ctx, ct) =>
            {
                ctx.HttpContext.Response.Headers.RetryAfter = "60";
                await Results.Problem(statusCode: 429, title: "Too many requests",
                    detail: ApiKeyAuth.KeyOf(ctx.HttpContext) is { IsService: false }
                        ? "More requests a minute than this API key allows; retry later."
                        : $"More than {limits.RequestsPerMinute} requests a minute from this client; retry later.").ExecuteAsync(ctx.HttpContext);
            };
            // A user's key has its own limit (the key's, else Auth:KeyRequestsPerMinute); a web app's own key has
            // Limits:RequestsPerMinute to itself (two web apps behind one gateway arrive from one address but are two
            // clients); requests without a key (loopback, no keys needed) are limited per client address.
            var keys = builder.Configuration.GetSection(ApiKeyOptions.Section).Get<ApiKeyOptions>() ?? new();
            o.AddPolicy(ApiPolicy, http =>
            {
                if (ApiKeyAuth.KeyOf(http) is { IsService: false, KeyId: { } keyId } key)
                {
                    var perKey = key.RequestsPerMinute ?? keys.KeyRequestsPerMinute;
                    return perKey <= 0
                        ? RateLimitPartition.GetNoLimiter("key-off")
                        : RateLimitPartition.GetFixedWindowLimiter($"key:{keyId}:{perKey}",
                            _ => new FixedWindowRateLimiterOptions { PermitLimit = perKey, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
                }
                var client = ApiKeyAuth.KeyOf(http) is { IsService: true, KeyId: { } serviceKey }
                    ? $"service:{serviceKey}"
                    : http.Connection.RemoteIpAddress?.ToString() ?? "local";
                return limits.RequestsPerMinute <= 0
                    ? RateLimitPartition.GetNoLimiter("off")
                    : RateLimitPartition.GetFixedWindowLimiter(client,
                        _ => new FixedWindowRateLimiterOptions { PermitLimit = limits.RequestsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
        });
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("multimodalhub-inference"))
            .WithTracing(t =>
            {
                t.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])) t.AddOtlpExporter();
            });
        return builder;
    }

    /// <summary>Headers for an API that serves JSON and images only.</summary>
    public static IApplicationBuilder UseApiSecurityHeaders(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var h = http.Response.Headers;
        h.XContentTypeOptions = "nosniff";
        h["X-Frame-Options"] = "DENY";
        h.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";
        h["Referrer-Policy"] = "no-referrer";
        await next();
    });
}
