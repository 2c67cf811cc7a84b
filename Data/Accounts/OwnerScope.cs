using System.Security.Claims;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Accounts;

/// <summary>Whose items a query may see: one owner's, or (admins) everyone's. Every read and change of a run, chat,
/// vote, link, image or key takes one, so nothing is found by guessing an id or a hash.</summary>
public sealed record OwnerScope(string OwnerId, bool All = false)
{
    /// <summary>The legacy single local owner (data from before accounts, and tests).</summary>
    public static OwnerScope Local { get; } = new(Owner.LocalId);

    /// <summary>The signed-in account's scope (admins see all), or null when the principal is not signed in.</summary>
    public static OwnerScope? Of(ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true && user.FindFirstValue(ClaimTypes.NameIdentifier) is { Length: > 0 } id
            ? new OwnerScope(id, user.IsInRole(HubRoles.Admin))
            : null;

    /// <summary>Whether an item of <paramref name="ownerId"/> is visible in this scope.</summary>
    public bool Sees(string? ownerId) => All || string.Equals(ownerId, OwnerId, StringComparison.Ordinal);
}

/// <summary>Entities that belong to an owner.</summary>
public interface IOwned
{
    string? OwnerId { get; }
}

internal static class OwnerScopeQueries
{
    /// <summary>The rows this scope may see.</summary>
    public static IQueryable<T> Visible<T>(this IQueryable<T> rows, OwnerScope scope) where T : class, IOwned =>
        scope.All ? rows : rows.Where(r => r.OwnerId == scope.OwnerId);

    /// <summary>Whether the scope may read the image: admins always; otherwise the owner stored it, or one of the
    /// owner's runs, chat messages or A/B votes uses it.</summary>
    public static IQueryable<StoredImageRef> Readable(HubDbContext db, string sha256, OwnerScope scope) =>
        scope.All
            ? db.Images.Where(i => i.Sha256 == sha256).Select(i => new StoredImageRef(i.Sha256))
            : db.Images.Where(i => i.Sha256 == sha256 && (
                    db.ImageUploads.Any(u => u.ImageSha256 == sha256 && u.OwnerId == scope.OwnerId)
                    || db.RunImages.Any(ri => ri.ImageSha256 == sha256 && ri.Run!.OwnerId == scope.OwnerId)
                    || db.ChatMessages.Any(m => m.ImageSha256 == sha256 && m.Session!.OwnerId == scope.OwnerId)
                    || db.AbVotes.Any(v => (v.ImageA == sha256 || v.ImageB == sha256) && v.OwnerId == scope.OwnerId)))
                .Select(i => new StoredImageRef(i.Sha256));
}

internal sealed record StoredImageRef(string Sha256);
