using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace MultimodalHub.Inference.Runtime;

/// <summary>
/// Creates ONNX Runtime sessions with the hub's settings (<see cref="InferenceOptions.RuntimeFor"/>: per model, else
/// service-wide): the first execution provider of the model's list that works here (CUDA, then CPU by default), threads
/// from the core count, spinning, arenas and prepacking. Whether a provider works is found once per provider and device,
/// by a session of a tiny probe model, and a provider that does not is skipped with its reason logged once. Sessions
/// created while a model loads (<see cref="BeginModel"/>) use that model's settings and record the provider they got.
/// </summary>
public sealed class OrtSessionFactory
{
    private readonly InferenceOptions _options;
    private readonly ILogger<OrtSessionFactory> _log;
    private readonly Lazy<IReadOnlySet<string>> _built = new(() => OrtEnv.Instance().GetAvailableProviders().ToHashSet(StringComparer.Ordinal));
    private readonly ConcurrentDictionary<(string Provider, int Device), Lazy<string?>> _problems = new();
    private readonly AsyncLocal<ModelSessions?> _current = new();

    public OrtSessionFactory(IOptions<InferenceOptions> options, ILogger<OrtSessionFactory> log)
    {
        _options = options.Value;
        _log = log;
    }

    /// <summary>Whether a model's decoder keeps its KV cache in the session's memory through IO binding (Inference:KvIoBinding; null: where that memory is not the CPU's).</summary>
    public bool? KvIoBindingFor(string modelId) => _options.KvIoBindingFor(modelId);

    /// <summary>The provider sessions outside any model's settings start on ("cuda" or "cpu", ...).</summary>
    public string ExecutionProvider => ProviderFor(null);

    /// <summary>The provider a model's sessions start on: the first of its list that works here.</summary>
    public string ProviderFor(string? modelId)
    {
        var runtime = _options.RuntimeFor(modelId);
        return runtime.ExecutionProviders.First(p => Problem(p, runtime.DeviceId) is null);
    }

    /// <summary>Why a provider cannot be used here (not in this build, fails to start), or null when it works. Found once, logged once.</summary>
    public string? Problem(string provider, int deviceId = 0)
    {
        if (provider == ExecutionProviders.Cpu) return null;
        return _problems.GetOrAdd((provider, deviceId), key => new Lazy<string?>(() => Probe(key.Provider, key.Device))).Value;
    }

    /// <summary>Sessions created in this async flow until the scope is disposed use the model's settings and are recorded in it.</summary>
    public ModelSessions BeginModel(string modelId)
    {
        var scope = new ModelSessions(modelId, _current.Value, s => _current.Value = s);
        _current.Value = scope;
        return scope;
    }

    public InferenceSession Create(string modelPath)
    {
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"ONNX model not found: {modelPath}", modelPath);
        var scope = _current.Value;
        var runtime = _options.RuntimeFor(scope?.ModelId);
        foreach (var provider in runtime.ExecutionProviders)
        {
            if (Problem(provider, runtime.DeviceId) is not null) continue;
            try
            {
                using var so = CreateOptions(runtime, provider);
                var session = new InferenceSession(modelPath, so);
                scope?.Add(provider);
                return session;
            }
            catch (Exception e) when (provider != ExecutionProviders.Cpu && e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
            {
                // The provider works (the probe ran) but not for this graph (an operator, memory): the next one takes it.
                _log.LogWarning("Session {Model} could not start on {Provider}, trying the next provider: {Reason}", modelPath, provider, e.Message);
            }
        }
        throw new InvalidOperationException("No execution provider could be tried: the CPU provider is always last."); // unreachable: RuntimeFor ends with cpu
    }

    private string? Probe(string provider, int deviceId)
    {
        string? problem;
        if (ExecutionProviders.OrtName(provider) is not { } ortName)
            problem = $"unknown execution provider '{provider}' (known: {string.Join(", ", ExecutionProviders.Known)})";
        else if (!_built.Value.Contains(ortName))
            problem = $"this ONNX Runtime has no {ortName}: {ExecutionProviders.MissingHint(provider)}";
        else
        {
            try
            {
                using var so = CreateOptions(_options.RuntimeFor(null) with { DeviceId = deviceId }, provider);
                using var session = new InferenceSession(ExecutionProviders.ProbeModel(), so);
                problem = null;
            }
            catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
            {
                problem = $"{ortName} could not start: {e.Message.Trim()}";
            }
        }
        if (problem is null) _log.LogInformation("Execution provider {Provider} (device {DeviceId}) is available", provider, deviceId);
        else if (ExecutionProviders.OrtName(provider) is { } name && !_built.Value.Contains(name))
            _log.LogInformation("Execution provider {Provider} is not used, the next one in Inference:ExecutionProviders is: {Reason}", provider, problem);
        else _log.LogWarning("Execution provider {Provider} (device {DeviceId}) is not used, the next one in Inference:ExecutionProviders is: {Reason}", provider, deviceId, problem);
        return problem;
    }

    private static Microsoft.ML.OnnxRuntime.SessionOptions CreateOptions(ModelRuntime runtime, string provider)
    {
        var so = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = runtime.IntraOpThreads,
            InterOpNumThreads = 1,
            EnableCpuMemArena = runtime.CpuMemArena,
        };
        try
        {
            so.AddSessionConfigEntry("session.intra_op.allow_spinning", runtime.AllowSpinning ? "1" : "0");
            if (!runtime.Prepacking) so.AddSessionConfigEntry("session.disable_prepacking", "1");
            switch (provider)
            {
                case ExecutionProviders.Cuda:
                    AppendCuda(so, runtime);
                    break;
                case ExecutionProviders.TensorRt:
                    using (var trt = new OrtTensorRTProviderOptions())
                    {
                        trt.UpdateOptions(new Dictionary<string, string> { ["device_id"] = Invariant(runtime.DeviceId) });
                        so.AppendExecutionProvider_Tensorrt(trt);
                    }
                    AppendCuda(so, runtime); // what TensorRT does not take runs on CUDA, then CPU
                    break;
                case ExecutionProviders.DirectMl:
                    so.EnableMemoryPattern = false; // DirectML requires both
                    so.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
                    so.AppendExecutionProvider_DML(runtime.DeviceId);
                    break;
            }
            return so;
        }
        catch
        {
            so.Dispose();
            throw;
        }
    }

    private static void AppendCuda(Microsoft.ML.OnnxRuntime.SessionOptions so, ModelRuntime runtime)
    {
        using var cuda = new OrtCUDAProviderOptions();
        var settings = new Dictionary<string, string>
        {
            ["device_id"] = Invariant(runtime.DeviceId),
            ["cudnn_conv_algo_search"] = runtime.CudnnConvAlgoSearch,
            ["arena_extend_strategy"] = runtime.ArenaExtendStrategy,
        };
        if (runtime.GpuMemLimitBytes > 0) settings["gpu_mem_limit"] = Invariant(runtime.GpuMemLimitBytes);
        cuda.UpdateOptions(settings);
        so.AppendExecutionProvider_CUDA(cuda);
    }

    private static string Invariant(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The sessions one model load creates: their settings are the model's, and each records the provider it got.</summary>
public sealed class ModelSessions(string modelId, ModelSessions? previous, Action<ModelSessions?> restore) : IDisposable
{
    private readonly List<string> _providers = [];

    public string ModelId { get; } = modelId;

    /// <summary>The providers the model's sessions run on, each once, in the order first used (e.g. ["cuda"], or ["cuda", "cpu"] when one graph fell back).</summary>
    public IReadOnlyList<string> Providers
    {
        get { lock (_providers) return _providers.ToArray(); }
    }

    internal void Add(string provider)
    {
        lock (_providers)
        {
            if (!_providers.Contains(provider)) _providers.Add(provider);
        }
    }

    public void Dispose() => restore(previous);
}
