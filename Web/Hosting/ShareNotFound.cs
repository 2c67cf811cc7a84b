using MultimodalHub.Data.Services;

namespace MultimodalHub.Web.Hosting;

/// <summary>
/// /s/{token} for an unknown, expired or revoked token answers 404 with the app's one not-found page, exactly as an
/// unknown route does (nothing tells the three cases apart). Runs before routing so the request is routed to the
/// static /not-found page.
/// </summary>
public static class ShareNotFound
{
    public static IApplicationBuilder UseShareNotFound(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var segments = http.Request.Path.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries) ?? [];
        if (HttpMethods.IsGet(http.Request.Method) && segments is ["s", var token])
        {
            var shares = http.RequestServices.GetRequiredService<IShareService>();
            var valid = await shares.ResolveAsync(token, countView: false, http.RequestAborted) is not null; // checks the token's form first
            if (!valid)
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
