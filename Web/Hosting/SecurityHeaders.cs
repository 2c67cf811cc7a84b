namespace MultimodalHub.Web.Hosting;

/// <summary>
/// Response headers for the Blazor Server app. The CSP allows scripts only from this origin (blazor.web.js,
/// MudBlazor.min.js, js/hub.js: no inline script, no eval); styles need 'unsafe-inline' because MudBlazor writes
/// its theme as a &lt;style&gt; element and positions popovers with style attributes; images may be data:/blob:
/// URLs (previews, uploads); the circuit's WebSocket is same-origin ('self').
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; " +
        "frame-ancestors 'none'";

    public static IApplicationBuilder UseHubSecurityHeaders(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        http.Response.OnStarting(() =>
        {
            var h = http.Response.Headers;
            h.XContentTypeOptions = "nosniff";
            h.XFrameOptions = "DENY";
            h.ContentSecurityPolicy = ContentSecurityPolicy;
            h["Referrer-Policy"] = "strict-origin-when-cross-origin";
            h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
            h["Cross-Origin-Opener-Policy"] = "same-origin";
            return Task.CompletedTask;
        });
        await next();
    });
}
