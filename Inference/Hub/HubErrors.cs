namespace MultimodalHub.Inference.Hub;

/// <summary>Why a pull failed; each maps to one HTTP status of the service's pull API and to a CLI exit code.</summary>
public enum PullErrorKind
{
    /// <summary>The repository, revision or file does not exist on the hub (404).</summary>
    NotFound,

    /// <summary>Gated or private: no token, or the token has no access (401/403).</summary>
    Unauthorized,

    /// <summary>The connection dropped or the hub kept failing after every retry.</summary>
    Network,

    /// <summary>A file's bytes do not match the hub's sha256 / git hash or size; the file was deleted.</summary>
    Checksum,

    /// <summary>Not enough free disk space (checked first), or the disk filled up while writing.</summary>
    DiskFull,

    /// <summary>Offline mode and the model is not on disk.</summary>
    Offline,

    /// <summary>The repository holds no ONNX export this hub can run, or not in the variant asked for.</summary>
    Unsupported,

    /// <summary>The target folder exists and holds another model.</summary>
    Conflict,
}

/// <summary>A pull that failed for a reason the user can act on; the message says what and what to do.</summary>
public sealed class PullException(PullErrorKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public PullErrorKind Kind { get; } = kind;

    /// <summary>The HTTP status the pull API answers with.</summary>
    public int HttpStatus => Kind switch
    {
        PullErrorKind.NotFound => 404,
        PullErrorKind.Unauthorized => 403,
        PullErrorKind.Network or PullErrorKind.Checksum => 502,
        PullErrorKind.DiskFull => 507,
        PullErrorKind.Offline => 503,
        PullErrorKind.Unsupported => 422,
        PullErrorKind.Conflict => 409,
        _ => 500,
    };
}
