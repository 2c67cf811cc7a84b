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

    /// <summary>
    /// Which ONNX variant of a model to run when its folder holds several (fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4):
    /// "auto" picks by <see cref="OnnxVariants.CpuPreference"/>. <see cref="ModelVariants"/> overrides it per model id.
    /// </summary>
    public string Variant { get; set; } = "auto";

    /// <summary>Per-model variant, by model id (Inference:ModelVariants:shapes-chat=q4).</summary>
    public Dictionary<string, string> ModelVariants { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The variant choice for one model id; an unknown name is treated as "auto".</summary>
    public VariantChoice VariantChoiceFor(string modelId)
    {
        var name = ModelVariants.TryGetValue(modelId, out var v) ? v : Variant;
        return OnnxVariants.TryParse(name, out var variant)
            ? new VariantChoice(variant, OnnxVariants.CpuPreference)
            : VariantChoice.Auto;
    }

    /// <summary>Loaded models unused for this long are unloaded. Zero or negative: never.</summary>
    public TimeSpan IdleUnload { get; set; } = TimeSpan.FromMinutes(15);
}
