namespace MultimodalHub.Contracts;

/// <summary>What kind of engine a model folder is for, recognised from its files.</summary>
public enum ModelKind { Clip, Diffusion, Chat, Vlm, Embedding, Unknown }

/// <summary>Whether a model's files are usable: ready (valid, loadable) or error (see <see cref="ModelInfo.Error"/>).</summary>
public enum ModelStatus { Ready, Error }

/// <summary>
/// One entry of GET /v1/models: the OpenAI fields (id, object, created, owned_by) plus the hub's own: kind, status,
/// files, the ONNX variants the folder holds in full (fp32, fp16, q8, q4, ...) and the one it runs, the execution provider
/// it runs on ("cuda", "cpu", ...: where it loaded, or where it will load when it is not in memory) and, when loaded, how.
/// </summary>
public sealed record ModelInfo(
    string Id,
    string Object,
    long Created,
    string OwnedBy,
    ModelKind Kind,
    ModelStatus Status,
    bool Loaded,
    string Path,
    IReadOnlyList<string> Files,
    string? Error,
    IReadOnlyList<string>? Variants = null,
    string? Variant = null,
    string? ExecutionProvider = null,
    ModelLoadInfo? Load = null);

/// <summary>A model in memory: when it loaded, how long loading and the warm-up run took, its sessions' providers, whether it is pinned.</summary>
public sealed record ModelLoadInfo(DateTimeOffset LoadedAt, double LoadMs, double? WarmUpMs, IReadOnlyList<string> ExecutionProviders, bool Pinned);

public sealed record ModelList(string Object, IReadOnlyList<ModelInfo> Data);

/// <summary>GET /readyz body.</summary>
public sealed record ReadinessReport(string Status, IReadOnlyList<string> ModelRoots, IReadOnlyList<ReadinessCheck> Checks);

public sealed record ReadinessCheck(string Name, bool Ok, string? Reason);
