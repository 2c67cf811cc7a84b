using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Identity;
using MultimodalHub.Data;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Web.Accounts;

/// <summary>Accounts for the web app: ASP.NET Core Identity on the hub's database, a cookie sign-in, roles, every
/// endpoint signed-in only unless it says otherwise, and the reverse-proxy headers.</summary>
public static class AccountServices
{
    public const string CookieName = "hub-auth";

    public static WebApplicationBuilder AddHubAccounts(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var auth = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        services.Configure<AuthOptions>(builder.Configuration.GetSection(AuthOptions.Section));

        services.AddIdentityCore<HubUser>(o =>
            {
                // Length is what makes a password strong; no composition rules (NIST SP 800-63B).
                o.Password.RequiredLength = auth.MinPasswordLength;
                o.Password.RequireDigit = false;
                o.Password.RequireLowercase = false;
                o.Password.RequireUppercase = false;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequiredUniqueChars = 1;
                o.Lockout.AllowedForNewUsers = true;
                o.Lockout.MaxFailedAccessAttempts = auth.MaxFailedAttempts;
                o.Lockout.DefaultLockoutTimeSpan = auth.LockoutDuration;
                // "Confirmed" means "not disabled" here (NotDisabled below): a disabled account cannot sign in.
                o.SignIn.RequireConfirmedAccount = true;
            })
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<HubDbContext>()
            .AddSignInManager()
            .AddDefaultTokenProviders();
        services.AddScoped<IUserConfirmation<HubUser>, NotDisabled>();
        services.AddScoped<AccountAdmin>();
        services.AddScoped<CurrentUser>();

        services.AddAuthentication(IdentityConstants.ApplicationScheme).AddIdentityCookies();
        var secure = auth.SecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        services.ConfigureApplicationCookie(c =>
        {
            c.Cookie.Name = CookieName;
            c.Cookie.HttpOnly = true;
            c.Cookie.SameSite = SameSiteMode.Lax;
            c.Cookie.SecurePolicy = secure;
            c.LoginPath = "/account/login";
            c.LogoutPath = "/account/logout";
            c.AccessDeniedPath = "/account/denied";
            c.ExpireTimeSpan = auth.SessionLifetime;
            c.SlidingExpiration = true;
            // Pages redirect to the sign-in page; media, downloads, form posts and the circuit get a plain 401/403.
            c.Events.OnRedirectToLogin = ctx => RedirectOrStatus(ctx, StatusCodes.Status401Unauthorized);
            c.Events.OnRedirectToAccessDenied = ctx => RedirectOrStatus(ctx, StatusCodes.Status403Forbidden);
        });
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "hub-antiforgery";
            o.Cookie.SecurePolicy = secure;
        });
        services.Configure<SecurityStampValidatorOptions>(o => o.ValidationInterval = auth.RevalidationInterval);
        services.AddDataProtection()
            .SetApplicationName("MultimodalHub")
            .PersistKeysToFileSystem(new DirectoryInfo(KeysFolder(builder.Configuration)));

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        services.AddCascadingAuthenticationState();
        services.AddScoped<AuthenticationStateProvider, RevalidatingAuthState>();

        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            foreach (var proxy in auth.KnownProxies)
                o.KnownProxies.Add(IPAddress.Parse(proxy));
        });
        return builder;
    }

    /// <summary>The cookie-encryption keys live beside the database, so sign-ins survive restarts and container rebuilds.</summary>
    private static string KeysFolder(ConfigurationManager configuration)
    {
        var data = configuration.GetSection(DataOptions.Section).Get<DataOptions>() ?? new DataOptions();
        var folder = Path.Combine(Path.GetDirectoryName(data.ResolvedDatabasePath)!, "keys");
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static Task RedirectOrStatus(Microsoft.AspNetCore.Authentication.RedirectContext<CookieAuthenticationOptions> ctx, int status)
    {
        var request = ctx.Request;
        var page = HttpMethods.IsGet(request.Method)
                   && !request.Path.StartsWithSegments("/media")
                   && !request.Path.StartsWithSegments("/_blazor")
                   && request.Path.Value?.EndsWith(".jsonl", StringComparison.Ordinal) != true;
        if (page)
            ctx.Response.Redirect(ctx.RedirectUri);
        else
            ctx.Response.StatusCode = status;
        return Task.CompletedTask;
    }

    /// <summary>Whether the request comes from this machine directly (not through a proxy).</summary>
    public static bool IsLocalRequest(HttpContext http) =>
        http.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip)
        && !http.Request.Headers.ContainsKey("X-Forwarded-For") && !http.Request.Headers.ContainsKey("X-Original-For")
        && !http.Request.Headers.ContainsKey("Forwarded");

    private sealed class NotDisabled : IUserConfirmation<HubUser>
    {
        public Task<bool> IsConfirmedAsync(UserManager<HubUser> manager, HubUser user) => Task.FromResult(!user.Disabled);
    }
}
