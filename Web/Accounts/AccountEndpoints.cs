using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Web.Accounts;

/// <summary>
/// The form posts that set or clear the sign-in cookie (a Blazor circuit cannot set cookies, so these are plain
/// minimal-API endpoints the static pages post to). Every one binds a form, so the antiforgery middleware checks its
/// token (a post without a valid token is a 400). Outcomes go back to the page as a short code (?error=...).
/// </summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        var account = app.MapGroup("/account").WithTags("account");

        account.MapPost("/login", async ([FromForm] string? userName, [FromForm] string? password, [FromForm] string? returnUrl,
            [FromForm] bool? remember, SignInManager<HubUser> signIn) =>
        {
            var result = await signIn.PasswordSignInAsync(userName ?? "", password ?? "", remember ?? false, lockoutOnFailure: true);
            if (result.Succeeded)
                return Results.LocalRedirect(Safe(returnUrl));
            var error = result.IsLockedOut ? "locked" : "invalid"; // disabled accounts get "invalid" too: nothing to learn
            return Results.LocalRedirect($"/account/login?error={error}&returnUrl={Uri.EscapeDataString(Safe(returnUrl))}");
        }).AllowAnonymous();

        account.MapPost("/logout", async ([FromForm] string? returnUrl, SignInManager<HubUser> signIn) =>
        {
            await signIn.SignOutAsync();
            return Results.LocalRedirect("/account/login");
        }).AllowAnonymous();

        // The first account (admin), only while there is none, and only from this machine.
        account.MapPost("/setup", async ([FromForm] string? userName, [FromForm] string? password, [FromForm] string? confirm,
            HttpContext http, AccountAdmin accounts, SignInManager<HubUser> signIn) =>
        {
            if (!AccountServices.IsLocalRequest(http) || await accounts.AnyAsync(http.RequestAborted))
                return Results.NotFound();
            if (password != confirm)
                return Results.LocalRedirect("/setup?error=mismatch");
            var created = await accounts.CreateAsync(userName ?? "", password ?? "", HubRoles.Admin, http.RequestAborted);
            if (!created.Succeeded)
                return Results.LocalRedirect($"/setup?error={created.Error}");
            await SignInAsync(signIn, created.UserId!);
            return Results.LocalRedirect("/");
        }).AllowAnonymous();

        // Open registration (Auth:AllowRegistration, off by default): a "user" account.
        account.MapPost("/register", async ([FromForm] string? userName, [FromForm] string? password, [FromForm] string? confirm,
            HttpContext http, AccountAdmin accounts, SignInManager<HubUser> signIn, IOptions<AuthOptions> options) =>
        {
            if (!options.Value.AllowRegistration || !await accounts.AnyAsync(http.RequestAborted))
                return Results.NotFound();
            if (password != confirm)
                return Results.LocalRedirect("/account/register?error=mismatch");
            var created = await accounts.CreateAsync(userName ?? "", password ?? "", HubRoles.User, http.RequestAborted);
            if (!created.Succeeded)
                return Results.LocalRedirect($"/account/register?error={created.Error}");
            await SignInAsync(signIn, created.UserId!);
            return Results.LocalRedirect("/");
        }).AllowAnonymous();

        account.MapPost("/password", async ([FromForm] string? current, [FromForm] string? password, [FromForm] string? confirm,
            HttpContext http, UserManager<HubUser> users, SignInManager<HubUser> signIn) =>
        {
            if (await users.GetUserAsync(http.User) is not { } user)
                return Results.Unauthorized();
            if (password != confirm)
                return Results.LocalRedirect("/account/password?error=mismatch");
            var changed = AccountResult.From(await users.ChangePasswordAsync(user, current ?? "", password ?? ""));
            if (!changed.Succeeded)
                return Results.LocalRedirect($"/account/password?error={changed.Error}");
            await signIn.RefreshSignInAsync(user); // the new security stamp goes into this browser's cookie
            return Results.LocalRedirect("/account/password?done=1");
        });
        return app;
    }

    private static async Task SignInAsync(SignInManager<HubUser> signIn, string userId)
    {
        var user = await signIn.UserManager.FindByIdAsync(userId) ?? throw new InvalidOperationException("The account just created is gone.");
        await signIn.SignInAsync(user, isPersistent: false);
    }

    /// <summary>A return address inside this app ("/..."), never another site.</summary>
    internal static string Safe(string? returnUrl) =>
        returnUrl is { Length: > 0 } r && r[0] == '/' && (r.Length == 1 || (r[1] != '/' && r[1] != '\\')) ? r : "/";
}
