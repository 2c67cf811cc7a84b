using Microsoft.AspNetCore.Components.Authorization;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Web.Accounts;

/// <summary>The signed-in account of this circuit or request, as the owner scope every store call takes.</summary>
public sealed class CurrentUser(AuthenticationStateProvider auth)
{
    /// <summary>The account's scope (admins see all). Throws when nobody is signed in: pages that call it require an account.</summary>
    public async Task<OwnerScope> ScopeAsync()
    {
        var state = await auth.GetAuthenticationStateAsync();
        return OwnerScope.Of(state.User) ?? throw new UnauthorizedAccessException("Sign in first.");
    }

    /// <summary>The scope of the account's own items only (new runs, chats, votes, links, keys are created under it).</summary>
    public async Task<OwnerScope> OwnAsync() => (await ScopeAsync()) with { All = false };

    /// <summary>The owner id new items get.</summary>
    public async Task<string> OwnerIdAsync() => (await ScopeAsync()).OwnerId;

    /// <summary>Whether the account may run the engines (admin or user; viewers only read).</summary>
    public async Task<bool> CanGenerateAsync()
    {
        var user = (await auth.GetAuthenticationStateAsync()).User;
        return user.IsInRole(HubRoles.Admin) || user.IsInRole(HubRoles.User);
    }
}
