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

    /// <summary>ONNX Runtime intra-op threads per session; 0 = one per core the process may use (<see cref="Environment.ProcessorCount"/>).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Whether ONNX Runtime's intra-op threads spin-wait after a run (ORT's own default is true). False (the hub's default)
    /// frees the cores right away for the managed work between runs (decoding, sampling, preprocessing); measured faster on
    /// small machines (README, "Runtime benchmarks").
    /// </summary>
    public bool AllowSpinning { get; set; }

    /// <summary>Use GPU execution providers (CUDA, TensorRT) when the build has them and a GPU answers; false runs everything on the CPU.</summary>
    public bool UseCuda { get; set; } = true;

    /// <summary>
    /// Execution providers to try, in order, for every session (see <see cref="ExecutionProviders"/>): "cuda", "tensorrt",
    /// "dml" (DirectML, Windows builds only), "cpu". One that this build lacks or that fails to start is skipped, with the
    /// reason logged once. CPU is always the last resort. Empty (unset): <see cref="DefaultExecutionProviders"/>. (Not
    /// initialised with those: the configuration binder appends a configured list to an existing one, so
    /// ["tensorrt", "cuda"] would have become cuda, cpu, tensorrt and TensorRT would never have been tried.)
    /// </summary>
    public List<string> ExecutionProviders { get; set; } = [];

    /// <summary>The providers tried when <see cref="ExecutionProviders"/> is not set: CUDA, then the CPU.</summary>
    public static IReadOnlyList<string> DefaultExecutionProviders { get; } = ["cuda", "cpu"];

    /// <summary>The GPU the GPU providers use (CUDA/TensorRT/DirectML device id).</summary>
    public int DeviceId { get; set; }

    /// <summary>cuDNN convolution algorithm search: "exhaustive" (ORT's default: benchmarks every algorithm once per shape), "heuristic", or "default".</summary>
    public string CudnnConvAlgoSearch { get; set; } = "exhaustive";

    /// <summary>Upper bound of the CUDA memory arena, in bytes; 0 = no bound (ORT's default).</summary>
    public long GpuMemLimitBytes { get; set; }

    /// <summary>How the CUDA arena grows: "next_power_of_two" (ORT's default) or "same_as_requested" (tighter, more allocations).</summary>
    public string ArenaExtendStrategy { get; set; } = "next_power_of_two";

    /// <summary>ONNX Runtime's CPU memory arena (ORT's default, on): off returns freed buffers to the system, lowering peak memory of large models at some speed.</summary>
    public bool CpuMemArena { get; set; } = true;

    /// <summary>Pre-pack constant weights into the CPU kernels' layout at load (ORT's default, on): faster runs for more memory; off sets "session.disable_prepacking".</summary>
    public bool Prepacking { get; set; } = true;

    /// <summary>Run each model once on a tiny input right after it loads, so the first request is not the slow one.</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>
    /// Run the chat and VLM decoders through ONNX Runtime IO binding, so the KV cache (present.* fed back as
    /// past_key_values.*) stays in the memory of the session's execution provider between steps: GPU memory under CUDA,
    /// the CPU allocator on the CPU (<see cref="Generation.DecoderRunner"/>). False runs each step with a plain session.Run,
    /// which on a GPU copies the cache to CPU memory and back every step. Unset (the default): binding where the session
    /// keeps the cache outside CPU memory (a GPU provider), session.Run on the CPU, where binding saves no copy and costs a
    /// little (<see cref="Generation.DecoderRunner.Create"/>).
    /// </summary>
    public bool? KvIoBinding { get; set; }

    /// <summary><see cref="KvIoBinding"/> for one model: its override, else the service-wide setting (null: decided by where the cache lives).</summary>
    public bool? KvIoBindingFor(string modelId) => Models.TryGetValue(modelId, out var m) && m.KvIoBinding is { } own ? own : KvIoBinding;

    /// <summary>On a GPU provider, "auto" variant choice prefers fp16 files (<see cref="OnnxVariants.GpuPreference"/>).</summary>
    public bool PreferFp16OnGpu { get; set; } = true;

    /// <summary>Per-model overrides of the settings above, by model id (Inference:Models:sd-turbo:ExecutionProviders:0=cpu).</summary>
    public Dictionary<string, ModelRuntimeOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The runtime settings of one model: its overrides over the defaults.</summary>
    public ModelRuntime RuntimeFor(string? modelId)
    {
        var m = modelId is not null && Models.TryGetValue(modelId, out var o) ? o : null;
        var providers = (m?.ExecutionProviders is { Count: > 0 } own ? own : ExecutionProviders is { Count: > 0 } all ? all : DefaultExecutionProviders)
            .Select(p => p.Trim().ToLowerInvariant()).Where(p => p.Length > 0).ToList();
        if (!(m?.UseCuda ?? UseCuda)) providers.RemoveAll(Runtime.ExecutionProviders.IsGpu);
        if (!providers.Contains(Runtime.ExecutionProviders.Cpu)) providers.Add(Runtime.ExecutionProviders.Cpu);
        return new ModelRuntime(
            providers.Distinct().ToList(),
            m?.DeviceId ?? DeviceId,
            OrtCudnnConvAlgoSearch(m?.CudnnConvAlgoSearch ?? CudnnConvAlgoSearch),
            m?.GpuMemLimitBytes ?? GpuMemLimitBytes,
            OrtArenaExtendStrategy(m?.ArenaExtendStrategy ?? ArenaExtendStrategy),
            m?.IntraOpThreads is > 0 ? m.IntraOpThreads.Value : IntraOpThreads > 0 ? IntraOpThreads : Math.Max(1, Environment.ProcessorCount),
            m?.AllowSpinning ?? AllowSpinning,
            m?.CpuMemArena ?? CpuMemArena,
            m?.Prepacking ?? Prepacking,
            m?.WarmUp ?? WarmUp,
            m?.PreferFp16OnGpu ?? PreferFp16OnGpu);
    }

    /// <summary>
    /// Which ONNX variant of a model to run when its folder holds several (fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4):
    /// "auto" picks by <see cref="OnnxVariants.CpuPreference"/>, or <see cref="OnnxVariants.GpuPreference"/> (fp16 first) for a model that runs on a GPU provider. <see cref="ModelVariants"/> overrides it per model id.
    /// </summary>
    public string Variant { get; set; } = "auto";

    /// <summary>Per-model variant, by model id (Inference:ModelVariants:shapes-chat=q4).</summary>
    public Dictionary<string, string> ModelVariants { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The variant choice for one model id; an unknown name is treated as "auto".</summary>
    private static string OrtCudnnConvAlgoSearch(string value) => value.Trim().ToLowerInvariant() switch
    {
        "exhaustive" => "EXHAUSTIVE",
        "heuristic" => "HEURISTIC",
        "default" => "DEFAULT",
        _ => throw new InvalidOperationException($"Inference:CudnnConvAlgoSearch must be exhaustive, heuristic or default, not '{value}'."),
    };

    private static string OrtArenaExtendStrategy(string value) => value.Trim().ToLowerInvariant() switch
    {
        "next_power_of_two" => "kNextPowerOfTwo",
        "same_as_requested" => "kSameAsRequested",
        _ => throw new InvalidOperationException($"Inference:ArenaExtendStrategy must be next_power_of_two or same_as_requested, not '{value}'."),
    };

    /// <param name="onGpu">Whether the model will run on a GPU provider: "auto" then prefers fp16 (<see cref="PreferFp16OnGpu"/>).</param>
    public VariantChoice VariantChoiceFor(string modelId, bool onGpu = false)
    {
        var name = ModelVariants.TryGetValue(modelId, out var v) ? v : Variant;
        var preference = onGpu && RuntimeFor(modelId).PreferFp16OnGpu ? OnnxVariants.GpuPreference : OnnxVariants.CpuPreference;
        return OnnxVariants.TryParse(name, out var variant)
            ? new VariantChoice(variant, preference)
            : new VariantChoice(null, preference);
    }

    /// <summary>Models to load (with their warm-up run) and pin when the service starts; "*" loads every usable model.</summary>
    public List<string> Preload { get; set; } = [];

    /// <summary>Loaded models unused for this long are unloaded (pinned ones stay). Zero or negative: never.</summary>
    public TimeSpan IdleUnload { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>Per-model overrides (section Inference:Models:{id}); an unset field takes the service-wide value.</summary>
public sealed class ModelRuntimeOptions
{
    public List<string>? ExecutionProviders { get; set; }
    public bool? UseCuda { get; set; }
    public int? DeviceId { get; set; }
    public string? CudnnConvAlgoSearch { get; set; }
    public long? GpuMemLimitBytes { get; set; }
    public string? ArenaExtendStrategy { get; set; }
    public int? IntraOpThreads { get; set; }
    public bool? AllowSpinning { get; set; }
    public bool? CpuMemArena { get; set; }
    public bool? Prepacking { get; set; }
    public bool? WarmUp { get; set; }
    public bool? PreferFp16OnGpu { get; set; }
    public bool? KvIoBinding { get; set; }
}

/// <summary>
/// The effective ONNX Runtime settings of one model (<see cref="InferenceOptions.RuntimeFor"/>): providers always end with
/// "cpu"; the cuDNN search and arena strategy are spelled as ONNX Runtime's CUDA options take them (EXHAUSTIVE, kNextPowerOfTwo).
/// </summary>
public sealed record ModelRuntime(
    IReadOnlyList<string> ExecutionProviders, int DeviceId, string CudnnConvAlgoSearch, long GpuMemLimitBytes, string ArenaExtendStrategy,
    int IntraOpThreads, bool AllowSpinning, bool CpuMemArena, bool Prepacking, bool WarmUp, bool PreferFp16OnGpu);
