using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Web.Accounts;

/// <summary>
/// A live page's (circuit's) sign-in is checked again every <see cref="AuthOptions.RevalidationInterval"/>: when the
/// account was disabled, deleted, or its security stamp changed (password reset, role change), the page loses its
/// authentication and the router sends the browser to the sign-in page, where the cookie is refused as well.
/// </summary>
internal sealed class RevalidatingAuthState(
    ILoggerFactory loggerFactory,
    IServiceScopeFactory scopes,
    IOptions<IdentityOptions> identity,
    IOptions<AuthOptions> auth) : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => auth.Value.RevalidationInterval;

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState state, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<HubUser>>();
        return await IsStillValidAsync(users, state.User, identity.Value);
    }

    internal static async Task<bool> IsStillValidAsync(UserManager<HubUser> users, ClaimsPrincipal principal, IdentityOptions options)
    {
        var user = await users.GetUserAsync(principal);
        if (user is null || user.Disabled)
            return false;
        if (!users.SupportsUserSecurityStamp)
            return true;
        var stamp = principal.FindFirstValue(options.ClaimsIdentity.SecurityStampClaimType);
        return stamp == await users.GetSecurityStampAsync(user);
    }
}
