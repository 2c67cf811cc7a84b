using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Accounts;

/// <summary>The hub's side of an account (Identity itself is in the web app): its owner row, the data of the single
/// local owner from before accounts, and disk use.</summary>
public interface IAccountStore
{
    /// <summary>Creates the owner row an account's items point at (its id is the account's id).</summary>
    Task EnsureOwnerAsync(string ownerId, string displayName, CancellationToken ct = default);
    /// <summary>Gives everything the local owner had (runs, chats, links, votes, uploads from before accounts) to
    /// <paramref name="ownerId"/>; done once, for the first account. Returns the number of rows moved.</summary>
    Task<int> AdoptLocalDataAsync(string ownerId, CancellationToken ct = default);
    /// <summary>Bytes of the distinct images each owner's runs, chats, votes and uploads use (an image two owners use
    /// counts for both).</summary>
    Task<IReadOnlyDictionary<string, long>> DiskUseAsync(CancellationToken ct = default);
}

internal sealed class AccountStore(IDbContextFactory<HubDbContext> dbs, TimeProvider time, ILogger<AccountStore> logger) : IAccountStore
{
    public async Task EnsureOwnerAsync(string ownerId, string displayName, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        if (await db.Owners.AnyAsync(o => o.Id == ownerId, ct))
            return;
        db.Owners.Add(new Owner { Id = ownerId, DisplayName = displayName, Created = time.GetUtcNow() });
        await db.SaveChangesAsync(ct);
    }

    public async Task<int> AdoptLocalDataAsync(string ownerId, CancellationToken ct = default)
    {
        const string local = Owner.LocalId;
        await using var db = await dbs.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var moved = await db.Runs.Where(r => r.OwnerId == local).ExecuteUpdateAsync(s => s.SetProperty(r => r.OwnerId, ownerId), ct);
        moved += await db.ChatSessions.Where(r => r.OwnerId == local).ExecuteUpdateAsync(s => s.SetProperty(r => r.OwnerId, ownerId), ct);
        moved += await db.ShareLinks.Where(r => r.OwnerId == local).ExecuteUpdateAsync(s => s.SetProperty(r => r.OwnerId, ownerId), ct);
        moved += await db.AbVotes.Where(r => r.OwnerId == local).ExecuteUpdateAsync(s => s.SetProperty(r => r.OwnerId, ownerId), ct);
        moved += await db.EvalRuns.Where(r => r.OwnerId == local).ExecuteUpdateAsync(s => s.SetProperty(r => r.OwnerId, ownerId), ct);
        moved += await db.Database.ExecuteSqlInterpolatedAsync(
            $"""INSERT INTO "ImageUploads" ("ImageSha256", "OwnerId", "Created") SELECT "ImageSha256", {ownerId}, "Created" FROM "ImageUploads" WHERE "OwnerId" = {local} ON CONFLICT DO NOTHING""", ct);
        await tx.CommitAsync(ct);
        if (moved > 0)
            logger.LogInformation("{Count} items from before accounts now belong to {Owner}", moved, ownerId);
        return moved;
    }

    public async Task<IReadOnlyDictionary<string, long>> DiskUseAsync(CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var uses = db.RunImages.Select(ri => new { ri.Run!.OwnerId, ri.ImageSha256 })
            .Concat(db.ChatMessages.Where(m => m.ImageSha256 != null).Select(m => new { m.Session!.OwnerId, ImageSha256 = m.ImageSha256! }))
            .Concat(db.AbVotes.Where(v => v.ImageA != null).Select(v => new { v.OwnerId, ImageSha256 = v.ImageA! }))
            .Concat(db.AbVotes.Where(v => v.ImageB != null).Select(v => new { v.OwnerId, ImageSha256 = v.ImageB! }))
            .Concat(db.ImageUploads.Select(u => new { u.OwnerId, u.ImageSha256 }))
            .Distinct();
        var rows = await (from u in uses
                          join i in db.Images on u.ImageSha256 equals i.Sha256
                          group i.ByteSize by u.OwnerId into g
                          select new { Owner = g.Key, Bytes = g.Sum() }).ToListAsync(ct);
        return rows.ToDictionary(r => r.Owner, r => r.Bytes, StringComparer.Ordinal);
    }
}
