using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Storage;

namespace MultimodalHub.Data.Accounts;

/// <summary>A key as lists show it (never the key itself).</summary>
public sealed record ApiKeySummary(
    long Id,
    string Name,
    string Prefix,
    string? OwnerId,
    DateTimeOffset Created,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? LastUsed,
    DateTimeOffset? RevokedAt,
    int? RequestsPerMinute)
{
    public bool IsActive(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

/// <summary>A key just created: <see cref="Secret"/> is shown once and stored nowhere.</summary>
public sealed record NewApiKey(ApiKeySummary Key, string Secret);

public enum ApiKeyStatus { Valid, Missing, Malformed, Unknown, Revoked, Expired, Disabled }

/// <summary>What a presented key is: valid (with its id, owner and rate limit) or why not.</summary>
public sealed record ApiKeyCheck(ApiKeyStatus Status, long? KeyId = null, string? OwnerId = null, int? RequestsPerMinute = null, bool IsService = false, bool IsAdmin = false)
{
    public bool IsValid => Status == ApiKeyStatus.Valid;
}

/// <summary>API keys for the inference service: created per account (shown once), stored as SHA-256, revocable,
/// optionally expiring, with their last use. The inference service validates keys against the same database.</summary>
public interface IApiKeyStore
{
    Task<NewApiKey> CreateAsync(OwnerScope owner, string name, DateTimeOffset? expiresAt = null, int? requestsPerMinute = null, CancellationToken ct = default);
    /// <summary>The scope's keys (all accounts' keys for admins), newest first; the web app's service key is not listed.</summary>
    Task<IReadOnlyList<ApiKeySummary>> ListAsync(OwnerScope owner, CancellationToken ct = default);
    Task<bool> RevokeAsync(long keyId, OwnerScope owner, CancellationToken ct = default);
    /// <summary>Checks a presented key; a valid key's last-used time is updated (at most once a minute).</summary>
    Task<ApiKeyCheck> ValidateAsync(string? presented, CancellationToken ct = default);
    /// <summary>A new key for the web app itself; earlier service keys are revoked.</summary>
    Task<string> CreateServiceKeyAsync(CancellationToken ct = default);
}

internal sealed class ApiKeyStore(IDbContextFactory<HubDbContext> dbs, TimeProvider time, HubInstance instance, ILogger<ApiKeyStore> logger) : IApiKeyStore
{
    public const string KeyPrefix = "mh_";
    private const int KeyBytes = 32; // 256 random bits
    private const int MaxName = 100;
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);
    private const string AdminRoleId = "role-" + HubRoles.Admin; // the ids HubDbContext seeds
    private const string UserRoleId = "role-" + HubRoles.User;

    public async Task<NewApiKey> CreateAsync(OwnerScope owner, string name, DateTimeOffset? expiresAt = null, int? requestsPerMinute = null, CancellationToken ct = default)
    {
        name = (name ?? "").Trim();
        if (name.Length is 0 or > MaxName)
            throw new ArgumentException($"Give the key a name of 1 to {MaxName} characters.", nameof(name));
        var now = time.GetUtcNow();
        if (expiresAt is { } e && e <= now)
            throw new ArgumentException("The expiry must be in the future.", nameof(expiresAt));
        if (requestsPerMinute is < 1 or > 100_000)
            throw new ArgumentException("The rate limit must be between 1 and 100000 requests a minute.", nameof(requestsPerMinute));
        var (secret, key) = NewKey(name, owner.OwnerId, now, isService: false);
        key.ExpiresAt = expiresAt;
        key.RequestsPerMinute = requestsPerMinute;
        await using var db = await dbs.CreateDbContextAsync(ct);
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(ct);
        logger.LogInformation("API key {KeyId} ({Prefix}) created for {Owner}", key.Id, key.Prefix, owner.OwnerId);
        return new NewApiKey(Summarise(key), secret);
    }

    public async Task<IReadOnlyList<ApiKeySummary>> ListAsync(OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var keys = await db.ApiKeys.AsNoTracking().Visible(owner).Where(k => !k.IsService).ToListAsync(ct);
        return keys.OrderByDescending(k => k.Created).ThenByDescending(k => k.Id).Select(Summarise).ToList();
    }

    public async Task<bool> RevokeAsync(long keyId, OwnerScope owner, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var changed = await db.ApiKeys.Visible(owner).Where(k => k.Id == keyId && !k.IsService && k.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, now), ct);
        if (changed == 1)
            logger.LogInformation("API key {KeyId} revoked", keyId);
        return changed == 1;
    }

    public async Task<ApiKeyCheck> ValidateAsync(string? presented, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(presented))
            return new ApiKeyCheck(ApiKeyStatus.Missing);
        if (!presented.StartsWith(KeyPrefix, StringComparison.Ordinal) || presented.Length > 100)
            return new ApiKeyCheck(ApiKeyStatus.Malformed);
        var hash = Hash(presented);
        await using var db = await dbs.CreateDbContextAsync(ct);
        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Hash == hash, ct);
        var now = time.GetUtcNow();
        if (key is null)
            return new ApiKeyCheck(ApiKeyStatus.Unknown);
        if (key.RevokedAt is not null)
            return new ApiKeyCheck(ApiKeyStatus.Revoked, key.Id, key.OwnerId);
        if (key.ExpiresAt is { } expires && expires <= now)
            return new ApiKeyCheck(ApiKeyStatus.Expired, key.Id, key.OwnerId);
        // The account must be enabled and allowed to run the engines (admin or user; viewers only read).
        if (key.OwnerId is { } ownerId && !await db.Users.AnyAsync(u => u.Id == ownerId && !u.Disabled
                && db.UserRoles.Any(r => r.UserId == ownerId && (r.RoleId == AdminRoleId || r.RoleId == UserRoleId)), ct))
            return new ApiKeyCheck(ApiKeyStatus.Disabled, key.Id, key.OwnerId);
        if (key.LastUsed is null || now - key.LastUsed.Value >= LastUsedResolution)
        {
            var before = now - LastUsedResolution;
            await db.ApiKeys.Where(k => k.Id == key.Id && (k.LastUsed == null || k.LastUsed <= before))
                .ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsed, now), ct);
        }
        var isAdmin = key.OwnerId is { } owner && await db.UserRoles.AnyAsync(r => r.UserId == owner && r.RoleId == AdminRoleId, ct);
        return new ApiKeyCheck(ApiKeyStatus.Valid, key.Id, key.OwnerId, key.RequestsPerMinute, key.IsService, isAdmin);
    }

    public async Task<string> CreateServiceKeyAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var (secret, key) = NewKey("web app", null, now, isService: true);
        key.Instance = await instance.IdAsync(ct);
        await using var db = await dbs.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // The keys of earlier starts go; on PostgreSQL those of other live web app instances stay.
        var replaced = db.ApiKeys.Where(k => k.IsService && k.RevokedAt == null);
        if (db.Database.IsNpgsql())
        {
            var live = HubInstance.LiveInstances(db);
            replaced = replaced.Where(k => k.Instance == null || !live.Contains(k.Instance.Value));
        }
        await replaced.ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, now), ct);
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return secret;
    }

    /// <summary>Lowercase hex SHA-256 of the key's UTF-8 bytes. A 256-bit random key needs no salt or slow hash:
    /// nothing about it can be guessed from a dictionary.</summary>
    internal static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static (string Secret, ApiKey Key) NewKey(string name, string? ownerId, DateTimeOffset now, bool isService)
    {
        var secret = KeyPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(KeyBytes));
        return (secret, new ApiKey
        {
            Name = name,
            OwnerId = ownerId,
            Prefix = secret[..11],
            Hash = Hash(secret),
            Created = now,
            IsService = isService,
        });
    }

    private static ApiKeySummary Summarise(ApiKey k) =>
        new(k.Id, k.Name, k.Prefix, k.OwnerId, k.Created, k.ExpiresAt, k.LastUsed, k.RevokedAt, k.RequestsPerMinute);
}
