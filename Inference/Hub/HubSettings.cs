using Microsoft.Extensions.Options;

namespace MultimodalHub.Inference.Hub;

/// <summary>
/// The effective endpoint, token and offline switch: the "Hub" section, else the Hugging Face client's environment
/// variables (HF_ENDPOINT, HF_TOKEN or the token file under HF_HOME, HF_HUB_OFFLINE), read through configuration.
/// </summary>
public sealed class HubSettings
{
    public HubSettings(IOptions<HubOptions> options, IConfiguration configuration)
    {
        Options = options.Value;
        var endpoint = Options.Endpoint ?? configuration["HF_ENDPOINT"];
        Endpoint = new Uri((string.IsNullOrWhiteSpace(endpoint) ? HubOptions.DefaultEndpoint : endpoint.Trim()).TrimEnd('/') + "/");
        Token = NonEmpty(Options.Token) ?? NonEmpty(configuration["HF_TOKEN"]) ?? TokenFile(configuration);
        Offline = Options.Offline || HubOptions.IsTrue(configuration["HF_HUB_OFFLINE"]);
    }

    public HubOptions Options { get; }

    /// <summary>The hub's base URL, ending in '/'.</summary>
    public Uri Endpoint { get; }

    internal string? Token { get; }

    public bool HasToken => Token is not null;

    public bool Offline { get; }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    /// <summary>The token `huggingface-cli login` saved: $HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token.</summary>
    private static string? TokenFile(IConfiguration configuration)
    {
        try
        {
            var home = configuration["HF_HOME"] ?? Path.Combine(configuration["XDG_CACHE_HOME"]
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "huggingface");
            var path = configuration["HF_TOKEN_PATH"] ?? Path.Combine(home, "token");
            return File.Exists(path) ? NonEmpty(File.ReadAllText(path)) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
