using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using MultimodalHub.Data;
using MultimodalHub.Data.Accounts;

namespace MultimodalHub.Inference.Hosting;

/// <summary>Configuration section "Auth" of the inference service: API keys.</summary>
public sealed class ApiKeyOptions
{
    public const string Section = "Auth";

    /// <summary>Require a key on /v1 even when the service listens on loopback only (beyond loopback it is always required).</summary>
    public bool RequireApiKey { get; set; }

    /// <summary>Requests a minute per key unless the key sets its own limit; 0 = no per-key limit.</summary>
    public int KeyRequestsPerMinute { get; set; } = 120;
}

/// <summary>
/// API keys on /v1 (`Authorization: Bearer mh_...`, as OpenAI clients send their api_key). Keys are made on the web
/// app's Keys page and checked here against the same SQLite database (section "Data": DatabasePath), read through
/// <see cref="IApiKeyStore"/>: no call to the web app, and a revoked key is refused at its next request. Required
/// when the service listens on any non-loopback address or Auth:RequireApiKey is true; otherwise the header is ignored.
/// A missing, wrong, revoked or expired key (or one whose account is disabled) gets OpenAI's 401 error shape.
/// </summary>
public static class ApiKeyAuth
{
    public static WebApplicationBuilder AddApiKeyAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiKeyOptions>().Bind(builder.Configuration.GetSection(ApiKeyOptions.Section));
        builder.Services.AddHubApiKeys(builder.Configuration);
        builder.Services.AddSingleton<ApiKeyPolicy>();
        return builder;
    }

    public static IApplicationBuilder UseApiKeyAuth(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (!http.Request.Path.StartsWithSegments("/v1") || !http.RequestServices.GetRequiredService<ApiKeyPolicy>().Required)
        {
            await next();
            return;
        }
        var header = http.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        ApiKeyCheck check;
        try
        {
            check = await http.RequestServices.GetRequiredService<IApiKeyStore>().ValidateAsync(presented, http.RequestAborted);
        }
        catch (System.Data.Common.DbException e)
        {
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ApiKeyAuth))
                .LogError(e, "API keys cannot be checked: the web app's database cannot be read (Data:DatabasePath or ConnectionStrings:Hub)");
            await Results.Problem(statusCode: 503, title: "API keys cannot be checked",
                detail: "The service cannot read the key database (Data:DatabasePath, or ConnectionStrings:Hub with Data:Provider=Postgres); start the web app once, or point both at the same database.").ExecuteAsync(http);
            return;
        }
        if (!check.IsValid)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await Results.Json(new { error = new { message = Message(check.Status), type = "invalid_request_error", param = (string?)null, code = "invalid_api_key" } },
                statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(http);
            return;
        }
        http.Items[typeof(ApiKeyCheck)] = check;
        await next();
    });

    /// <summary>Model management (pull, delete, load, unload, pin) changes the box for everyone: when keys are checked
    /// it needs an admin's key or the web app's own (whose Models page is for admins); other keys get 403 in OpenAI's shape.</summary>
    public static TBuilder RequireAdminKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (!http.RequestServices.GetRequiredService<ApiKeyPolicy>().Required || KeyOf(http) is { IsService: true } or { IsAdmin: true })
                return await next(context);
            return Results.Json(new { error = new { message = "Managing models needs an admin's API key.", type = "invalid_request_error", param = (string?)null, code = "insufficient_permissions" } },
                statusCode: StatusCodes.Status403Forbidden);
        });

    /// <summary>The valid key this request presented, if keys are checked.</summary>
    public static ApiKeyCheck? KeyOf(HttpContext http) => http.Items[typeof(ApiKeyCheck)] as ApiKeyCheck;

    private static string Message(ApiKeyStatus status) => status switch
    {
        ApiKeyStatus.Missing => "You didn't provide an API key. Send it as 'Authorization: Bearer mh_...' (the OpenAI client's api_key); keys are made on the web app's API keys page.",
        ApiKeyStatus.Revoked => "This API key has been revoked.",
        ApiKeyStatus.Expired => "This API key has expired.",
        ApiKeyStatus.Disabled => "This API key's account is disabled or may not use the API.",
        _ => "Incorrect API key provided.",
    };
}

/// <summary>Whether /v1 needs a key: Auth:RequireApiKey, or any address the server listens on is not loopback
/// (decided at the first request, when the addresses are known).</summary>
internal sealed class ApiKeyPolicy(IOptions<ApiKeyOptions> options, IServer server, ILogger<ApiKeyPolicy> log)
{
    private bool? _required;

    public bool Required => _required ??= Decide();

    private bool Decide()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var beyond = addresses.Where(a => !IsLoopback(a)).ToList();
        var required = options.Value.RequireApiKey || beyond.Count > 0;
        log.LogInformation("API keys {State} on /v1 (listening on {Addresses})", required ? "required" : "not required", string.Join(", ", addresses));
        return required;
    }

    internal static bool IsLoopback(string address)
    {
        if (!Uri.TryCreate(address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
            return false;
        return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }
}
