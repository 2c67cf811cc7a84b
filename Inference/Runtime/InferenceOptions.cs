namespace MultimodalHub.Inference.Runtime;

/// <summary>Configuration section "Inference".</summary>
public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>Folders scanned for models; each immediate sub-folder is one model. Relative paths resolve against the content root.</summary>
    public List<string> ModelRoots { get; set; } = [];

    /// <summary>The roots to scan: <see cref="ModelRoots"/>, or "models" when none is configured.</summary>
    public IReadOnlyList<string> EffectiveModelRoots => ModelRoots.Count > 0 ? ModelRoots : ["models"];

    /// <summary>Model ids that must be valid for /readyz to report ready. Empty: every model found must be valid.</summary>
    public List<string> RequiredModels { get; set; } = [];

    /// <summary>ONNX Runtime intra-op threads per session; 0 = physical cores.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Whether ONNX Runtime's intra-op threads spin-wait after a run (ORT's default, true). False frees the cores
    /// right away for the managed work between runs (decoding, preprocessing), which matters on small machines.
    /// </summary>
    public bool AllowSpinning { get; set; } = true;

    /// <summary>Use the CUDA execution provider when the build has it and a GPU answers.</summary>
    public bool UseCuda { get; set; } = true;

    /// <summary>Loaded models unused for this long are unloaded. Zero or negative: never.</summary>
    public TimeSpan IdleUnload { get; set; } = TimeSpan.FromMinutes(15);
}
