using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace MultimodalHub.Inference.Runtime;

/// <summary>
/// Creates ONNX Runtime sessions with the hub's settings: CPU with bounded threads by default; the CUDA execution
/// provider when the build has the GPU opt-in (-p:UseCuda=true) and a GPU answers, else CPU with one logged reason.
/// </summary>
public sealed class OrtSessionFactory
{
    private readonly InferenceOptions _options;
    private readonly ILogger<OrtSessionFactory> _log;
    private readonly Lazy<string> _provider;

    public OrtSessionFactory(IOptions<InferenceOptions> options, ILogger<OrtSessionFactory> log)
    {
        _options = options.Value;
        _log = log;
        _provider = new Lazy<string>(ChooseProvider);
    }

    /// <summary>"cuda" or "cpu": what new sessions run on.</summary>
    public string ExecutionProvider => _provider.Value;

    public InferenceSession Create(string modelPath)
    {
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"ONNX model not found: {modelPath}", modelPath);
        using var so = CreateOptions(ExecutionProvider == "cuda");
        return new InferenceSession(modelPath, so);
    }

    private Microsoft.ML.OnnxRuntime.SessionOptions CreateOptions(bool cuda)
    {
        var so = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = _options.IntraOpThreads > 0 ? _options.IntraOpThreads : Math.Max(1, Environment.ProcessorCount),
            InterOpNumThreads = 1,
        };
        if (!_options.AllowSpinning) so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (cuda) so.AppendExecutionProvider_CUDA(0);
        return so;
    }

    private string ChooseProvider()
    {
#if USE_CUDA
        if (!_options.UseCuda)
        {
            _log.LogInformation("Execution provider: CPU (Inference:UseCuda is false)");
            return "cpu";
        }
        try
        {
            using var probe = CreateOptions(cuda: true);
            _log.LogInformation("Execution provider: CUDA");
            return "cuda";
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            _log.LogWarning("Execution provider: CPU, because CUDA could not be initialised: {Reason}", e.Message);
            return "cpu";
        }
#else
        _log.LogInformation("Execution provider: CPU (this build has no GPU support; build with -p:UseCuda=true for CUDA)");
        return "cpu";
#endif
    }
}
