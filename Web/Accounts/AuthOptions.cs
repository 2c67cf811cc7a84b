namespace MultimodalHub.Web.Accounts;

/// <summary>Configuration section "Auth": sign-in, lockout, registration, cookies and the reverse proxy.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>Anyone who can reach the sign-in page may create a "user" account. Off by default: admins create accounts.</summary>
    public bool AllowRegistration { get; set; }

    /// <summary>How often a signed-in cookie and a live page's connection are checked against the account (disabled,
    /// password changed, role changed): a disabled user is signed out within this time.</summary>
    public TimeSpan RevalidationInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Failed sign-ins in a row before the account is locked out for <see cref="LockoutDuration"/>.</summary>
    public int MaxFailedAttempts { get; set; } = 5;

    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a sign-in lasts without use (sliding).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Shortest password.</summary>
    public int MinPasswordLength { get; set; } = 10;

    /// <summary>Mark the sign-in cookie Secure even on plain HTTP requests (set it when TLS ends at a proxy that does
    /// not send X-Forwarded-Proto). Otherwise it is Secure whenever the request is HTTPS (directly or as the proxy says).</summary>
    public bool SecureCookies { get; set; }

    /// <summary>Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto / X-Forwarded-Host headers are believed
    /// (IP addresses). Loopback is always trusted; a proxy on another machine must be listed.</summary>
    public List<string> KnownProxies { get; set; } = [];
}
