using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Web.Accounts;

/// <summary>One account as the admin page lists it.</summary>
public sealed record AccountRow(string Id, string UserName, string Role, bool Disabled, DateTimeOffset? LockedOutUntil, DateTimeOffset Created, long DiskBytes);

/// <summary>Why creating or changing an account failed, as a short code the pages map to a message.</summary>
public sealed record AccountResult(bool Succeeded, string? Error = null, string? UserId = null)
{
    public static AccountResult Ok(string? userId = null) => new(true, null, userId);
    public static AccountResult Fail(string error) => new(false, error);

    /// <summary>Identity's error codes reduced to the few the pages explain.</summary>
    public static AccountResult From(IdentityResult r) => r.Succeeded ? Ok() : Fail(r.Errors.Select(e => e.Code).FirstOrDefault() switch
    {
        "PasswordTooShort" => "short",
        "DuplicateUserName" => "taken",
        "InvalidUserName" => "name",
        "PasswordMismatch" => "wrong",
        _ => "failed",
    });
}

/// <summary>Account management over ASP.NET Core Identity: create (first account = admin, and it takes over the data
/// from before accounts), list with disk use, disable, reset passwords, change roles. Scoped (UserManager is).</summary>
public sealed class AccountAdmin(UserManager<HubUser> users, IAccountStore store, TimeProvider time, ILogger<AccountAdmin> logger)
{
    public Task<bool> AnyAsync(CancellationToken ct = default) => users.Users.AnyAsync(ct);

    public async Task<AccountResult> CreateAsync(string userName, string password, string role, CancellationToken ct = default)
    {
        userName = (userName ?? "").Trim();
        if (!HubRoles.All.Contains(role))
            return AccountResult.Fail("role");
        if (userName.Length is 0 or > 64)
            return AccountResult.Fail("name");
        var first = !await AnyAsync(ct);
        var user = new HubUser { UserName = userName, Created = time.GetUtcNow() };
        // The owner row first: every item of the account points at it (same id as the account).
        await store.EnsureOwnerAsync(user.Id, userName, ct);
        var created = await users.CreateAsync(user, password ?? "");
        if (!created.Succeeded)
            return AccountResult.From(created);
        await users.AddToRoleAsync(user, role);
        logger.LogInformation("Account {UserName} ({Role}) created", userName, role);
        if (first)
            await store.AdoptLocalDataAsync(user.Id, ct);
        return AccountResult.Ok(user.Id);
    }

    public async Task<IReadOnlyList<AccountRow>> ListAsync(CancellationToken ct = default)
    {
        var disk = await store.DiskUseAsync(ct);
        var list = await users.Users.AsNoTracking().OrderBy(u => u.UserName).ToListAsync(ct);
        var rows = new List<AccountRow>(list.Count);
        foreach (var u in list)
        {
            var role = (await users.GetRolesAsync(u)).FirstOrDefault() ?? HubRoles.Viewer;
            var locked = u.LockoutEnd is { } end && end > time.GetUtcNow() ? end : (DateTimeOffset?)null;
            rows.Add(new AccountRow(u.Id, u.UserName ?? "", role, u.Disabled, locked, u.Created, disk.GetValueOrDefault(u.Id)));
        }
        return rows;
    }

    /// <summary>Disables or enables an account; disabling changes its security stamp, so its sign-ins end at the next
    /// check (<see cref="AuthOptions.RevalidationInterval"/>) and its API keys are refused at once.</summary>
    public async Task<AccountResult> SetDisabledAsync(string userId, bool disabled, string actingUserId)
    {
        if (disabled && userId == actingUserId)
            return AccountResult.Fail("self");
        if (await users.FindByIdAsync(userId) is not { } user)
            return AccountResult.Fail("unknown");
        user.Disabled = disabled;
        var result = await users.UpdateAsync(user);
        if (result.Succeeded)
            result = await users.UpdateSecurityStampAsync(user);
        logger.LogInformation("Account {UserName} {State}", user.UserName, disabled ? "disabled" : "enabled");
        return AccountResult.From(result);
    }

    /// <summary>Sets a new random password (returned once, to hand to the person), ends the lockout, and signs the
    /// account out everywhere.</summary>
    public async Task<(AccountResult Result, string? Password)> ResetPasswordAsync(string userId)
    {
        if (await users.FindByIdAsync(userId) is not { } user)
            return (AccountResult.Fail("unknown"), null);
        var password = NewPassword();
        var removed = await users.RemovePasswordAsync(user);
        if (!removed.Succeeded)
            return (AccountResult.From(removed), null);
        var added = await users.AddPasswordAsync(user, password);
        if (!added.Succeeded)
            return (AccountResult.From(added), null);
        await users.SetLockoutEndDateAsync(user, null);
        await users.ResetAccessFailedCountAsync(user);
        await users.UpdateSecurityStampAsync(user);
        logger.LogInformation("Password of {UserName} reset by an admin", user.UserName);
        return (AccountResult.Ok(user.Id), password);
    }

    public async Task<AccountResult> SetRoleAsync(string userId, string role, string actingUserId)
    {
        if (!HubRoles.All.Contains(role))
            return AccountResult.Fail("role");
        if (userId == actingUserId && role != HubRoles.Admin)
            return AccountResult.Fail("self");
        if (await users.FindByIdAsync(userId) is not { } user)
            return AccountResult.Fail("unknown");
        var current = await users.GetRolesAsync(user);
        var result = await users.RemoveFromRolesAsync(user, current);
        if (result.Succeeded)
            result = await users.AddToRoleAsync(user, role);
        if (result.Succeeded)
            result = await users.UpdateSecurityStampAsync(user); // the role is in the cookie: sign in again
        return AccountResult.From(result);
    }

    /// <summary>20 url-safe random characters (120 bits).</summary>
    public static string NewPassword() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(15));
}
