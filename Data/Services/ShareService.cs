using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;

namespace MultimodalHub.Data.Services;

internal sealed class ShareService(
    IDbContextFactory<HubDbContext> dbs,
    TimeProvider time,
    ILogger<ShareService> logger) : IShareService
{
    /// <summary>192 random bits → 32 url-safe base64 chars (the brief asks for at least 128).</summary>
    internal const int TokenBytes = 24;
    private const int MaxItems = 500;
    private const int MaxTitle = 200;

    public async Task<ShareLinkSummary> CreateAsync(ShareRequest request, CancellationToken ct = default)
    {
        var ids = (request.RunIds ?? []).Distinct().ToList();
        if (ids.Count == 0)
            throw new ArgumentException("Choose at least one result to share.");
        if (ids.Count > MaxItems)
            throw new ArgumentException($"A link can share at most {MaxItems} results.");
        var title = string.IsNullOrWhiteSpace(request.Title) ? null : request.Title.Trim();
        if (title is { Length: > MaxTitle })
            throw new ArgumentException($"Title is longer than {MaxTitle} characters.");
        if (!Enum.IsDefined(request.Expiry))
            throw new ArgumentException("Unknown expiry.");

        await using var db = await dbs.CreateDbContextAsync(ct);
        var owned = await db.Runs.Where(r => ids.Contains(r.Id) && r.OwnerId == request.OwnerId).CountAsync(ct);
        if (owned != ids.Count)
            throw new ArgumentException("Some results do not exist or are not yours.");

        var now = time.GetUtcNow();
        var link = new ShareLink
        {
            Token = NewToken(),
            OwnerId = request.OwnerId,
            Kind = ids.Count == 1 ? ShareKind.Run : ShareKind.Collection,
            Title = title,
            Created = now,
            ExpiresAt = request.Expiry switch
            {
                ShareExpiry.OneHour => now.AddHours(1),
                ShareExpiry.OneDay => now.AddDays(1),
                ShareExpiry.SevenDays => now.AddDays(7),
                _ => null,
            },
            Items = ids.Select((id, i) => new ShareLinkItem { RunId = id, Position = i }).ToList(),
        };
        db.ShareLinks.Add(link);
        await db.SaveChangesAsync(ct);
        logger.LogInformation("Share link {LinkId} created for {Count} runs, expires {ExpiresAt}", link.Id, ids.Count, link.ExpiresAt);
        return Summarise(link, ids, now);
    }

    public async Task<bool> RevokeAsync(long linkId, OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var changed = await db.ShareLinks.Visible(owner)
            .Where(l => l.Id == linkId && !l.Revoked)
            .ExecuteUpdateAsync(s => s.SetProperty(l => l.Revoked, true).SetProperty(l => l.RevokedAt, now), ct);
        if (changed == 1)
            logger.LogInformation("Share link {LinkId} revoked", linkId);
        return changed == 1;
    }

    public async Task<IReadOnlyList<ShareLinkSummary>> ListAsync(OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var links = await db.ShareLinks.AsNoTracking()
            .Visible(owner)
            .OrderByDescending(l => l.Created).ThenByDescending(l => l.Id)
            .Include(l => l.Items)
            .ToListAsync(ct);
        var now = time.GetUtcNow();
        return links.Select(l => Summarise(l, l.Items.OrderBy(i => i.Position).Select(i => i.RunId).ToList(), now)).ToList();
    }

    public async Task<SharedContent?> ResolveAsync(string token, bool countView = true, CancellationToken ct = default)
    {
        if (!LooksLikeToken(token))
            return null;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        if (countView)
        {
            // Atomic increment, and only for an active link.
            var counted = await Active(db, token, now)
                .ExecuteUpdateAsync(s => s.SetProperty(l => l.ViewCount, l => l.ViewCount + 1), ct);
            if (counted == 0)
                return null;
        }
        var link = await Active(db, token, now).AsNoTracking()
            .Include(l => l.Items).ThenInclude(i => i.Run!).ThenInclude(r => r.Images).ThenInclude(i => i.Image)
            .AsSplitQuery()
            .SingleOrDefaultAsync(ct);
        if (link is null || link.Items.Count == 0)
            return null;
        var runs = link.Items.OrderBy(i => i.Position).Select(i => i.Run!).Select(r => new SharedRun(
            r.Id, r.Kind, r.Model, r.Prompt, r.NegativePrompt, r.ParametersJson, r.OutputText, r.LabelScoresJson,
            r.TimingsJson, r.Created,
            r.Images.Where(i => !i.Flagged).OrderByDescending(i => i.Role).ThenBy(i => i.Position) // outputs first; flagged ones never
                .Select(i => new SharedImage(i.ImageSha256, i.Role, i.Position, i.Image!.Width, i.Image.Height, i.Image.MimeType))
                .ToList(), r.Images.Count(i => i.Flagged))).ToList();
        return new SharedContent(link.Token, link.Kind, link.Title, link.Created, link.ExpiresAt, link.ViewCount, runs);
    }

    public async Task<bool> IsImageSharedAsync(string token, string sha256, CancellationToken ct = default)
    {
        if (!LooksLikeToken(token) || string.IsNullOrEmpty(sha256))
            return false;
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await Active(db, token, time.GetUtcNow())
            .SelectMany(l => l.Items)
            .AnyAsync(i => i.Run!.Images.Any(x => x.ImageSha256 == sha256 && !x.Flagged), ct);
    }

    internal static string NewToken() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(TokenBytes));

    private static IQueryable<ShareLink> Active(HubDbContext db, string token, DateTimeOffset now) =>
        db.ShareLinks.Where(l => l.Token == token && !l.Revoked && (l.ExpiresAt == null || l.ExpiresAt > now));

    private static bool LooksLikeToken(string? token) =>
        token is { Length: >= 22 and <= 64 } && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static ShareLinkSummary Summarise(ShareLink l, List<long> runIds, DateTimeOffset now) =>
        new(l.Id, l.Token, l.Kind, l.Title, l.Created, l.ExpiresAt, l.Revoked, l.ViewCount, runIds,
            IsActive: !l.Revoked && (l.ExpiresAt is null || l.ExpiresAt > now) && runIds.Count > 0);
}
