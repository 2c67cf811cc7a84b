namespace MultimodalHub.Inference.Hub;

/// <summary>
/// Configuration section "Hub": where `models pull` downloads from. The Hugging Face client's own environment variables
/// apply when the section does not say otherwise: HF_ENDPOINT (a mirror), HF_TOKEN (gated or private repos; else the
/// token file `huggingface-cli login` writes, $HF_HOME/token) and HF_HUB_OFFLINE.
/// </summary>
public sealed class HubOptions
{
    public const string Section = "Hub";

    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The hub's base URL; null: HF_ENDPOINT, else https://huggingface.co.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Bearer token; null: HF_TOKEN, else the token file. Never logged or printed.</summary>
    public string? Token { get; set; }

    /// <summary>No network: a pull succeeds only when the model is already complete on disk (HF_HUB_OFFLINE=1).</summary>
    public bool Offline { get; set; }

    /// <summary>Attempts per file after a dropped connection or a 5xx/429 answer; each attempt resumes with Range.</summary>
    public int Retries { get; set; } = 5;

    /// <summary>First back-off between attempts (exponential, with jitter).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long to wait for the hub's answer to one request (headers, or the next bytes of a body).</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Free disk space that must remain after a pull; the pull refuses to start otherwise.</summary>
    public long ReserveBytes { get; set; } = 64L << 20;

    /// <summary>Pulls the service runs at once (different repositories; one repository is never pulled twice at once).</summary>
    public int MaxConcurrentPulls { get; set; } = 2;

    /// <summary>Finished pull jobs the service keeps listing.</summary>
    public int MaxFinishedJobs { get; set; } = 50;

    internal static bool IsTrue(string? value) =>
        value?.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on";
}
