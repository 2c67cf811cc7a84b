using MultimodalHub.Data.Services;

namespace MultimodalHub.Web.Hosting;

/// <summary>
/// /s/{token} for an unknown, expired or revoked token answers 404 with the app's one not-found page, exactly as an
/// unknown route does (nothing tells the three cases apart). Runs before routing so the request is routed to the
/// static /not-found page. A valid link is resolved here, once, and counts one view.
/// </summary>
public static class ShareNotFound
{
    /// <summary>The shared content this request's middleware resolved, or null (e.g. a HEAD request).</summary>
    public static SharedContent? Resolved(HttpContext? http) => http?.Items[typeof(SharedContent)] as SharedContent;

    public static IApplicationBuilder UseShareNotFound(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var segments = http.Request.Path.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries) ?? [];
        if (HttpMethods.IsGet(http.Request.Method) && segments is ["s", var token])
        {
            var shares = http.RequestServices.GetRequiredService<IShareService>();
            // Resolved (and the view counted) once per request: the page reads the content from Items.
            var content = await shares.ResolveAsync(token, countView: true, http.RequestAborted); // checks the token's form first
            if (content is not null)
                http.Items[typeof(SharedContent)] = content;
            else
            {
                // The status is set as the headers go out: Blazor's static rendering treats a 404 set beforehand as
                // "let the status-code middleware render it", which would render the page twice in one scope.
                http.Request.Path = "/not-found";
                http.Response.OnStarting(() => { http.Response.StatusCode = StatusCodes.Status404NotFound; return Task.CompletedTask; });
            }
        }
        await next();
    });
}
