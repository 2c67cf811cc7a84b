namespace MultimodalHub.Data.Entities;

public enum ShareKind { Run, Collection }

public enum ShareExpiry { OneHour, OneDay, SevenDays, Never }

/// <summary>A revocable link /s/{token} to one run or a collection of runs.</summary>
public sealed class ShareLink : MultimodalHub.Data.Accounts.IOwned
{
    public long Id { get; set; }
    /// <summary>≥128 random bits, url-safe base64 without padding (22+ chars).</summary>
    public required string Token { get; set; }
    public string OwnerId { get; set; } = Owner.LocalId;
    public ShareKind Kind { get; set; }
    public string? Title { get; set; }
    public DateTimeOffset Created { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public bool Revoked { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public long ViewCount { get; set; }

    public List<ShareLinkItem> Items { get; set; } = [];
}

public sealed class ShareLinkItem
{
    public long ShareLinkId { get; set; }
    public int Position { get; set; }
    public long RunId { get; set; }

    public ShareLink? ShareLink { get; set; }
    public Run? Run { get; set; }
}
