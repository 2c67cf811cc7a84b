using Microsoft.AspNetCore.Identity;

namespace MultimodalHub.Data.Entities;

/// <summary>An account (ASP.NET Core Identity user). Its Id is also its <see cref="Owner"/> id: every run, chat, vote,
/// link, upload and API key of the account carries it.</summary>
public sealed class HubUser : IdentityUser
{
    /// <summary>A disabled account cannot sign in, its cookies stop working at the next security-stamp check, and its
    /// API keys are refused.</summary>
    public bool Disabled { get; set; }

    public DateTimeOffset Created { get; set; }
}

/// <summary>The three roles. Admin: everything, user management, sees every owner's work. User: own work.
/// Viewer: reads own items, no generation, no API keys.</summary>
public static class HubRoles
{
    public const string Admin = "admin";
    public const string User = "user";
    public const string Viewer = "viewer";
    /// <summary>Roles that may run the engines (generation pages, API keys).</summary>
    public const string Generators = Admin + "," + User;

    public static readonly IReadOnlyList<string> All = [Admin, User, Viewer];
}

/// <summary>An API key for the inference service: only the SHA-256 of the key is stored; the key itself
/// ("mh_" + 43 url-safe base64 characters of 256 random bits) is shown once, at creation.</summary>
public sealed class ApiKey : MultimodalHub.Data.Accounts.IOwned
{
    public long Id { get; set; }
    /// <summary>The account that owns the key; null for the web app's own service key.</summary>
    public string? OwnerId { get; set; }
    public required string Name { get; set; }
    /// <summary>The first characters of the key ("mh_AbCd1234"), to tell keys apart in lists.</summary>
    public required string Prefix { get; set; }
    /// <summary>Lowercase hex SHA-256 of the whole key.</summary>
    public required string Hash { get; set; }
    public DateTimeOffset Created { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset? LastUsed { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    /// <summary>Requests a minute this key may make; null = the service's Auth:KeyRequestsPerMinute.</summary>
    public int? RequestsPerMinute { get; set; }
    /// <summary>The web app's own key (one at a time, replaced at each start of the web app).</summary>
    public bool IsService { get; set; }
    /// <summary>For a service key: the web app instance that made it (<see cref="Storage.HubInstance"/>). A new
    /// service key replaces those of instances that are gone, not those of live ones.</summary>
    public int? Instance { get; set; }
}

/// <summary>That an owner stored (uploaded or generated) an image: content-addressed images are shared by bytes, so
/// who may read an image is recorded per owner.</summary>
public sealed class ImageUpload
{
    public required string ImageSha256 { get; set; }
    public required string OwnerId { get; set; }
    public DateTimeOffset Created { get; set; }
}
