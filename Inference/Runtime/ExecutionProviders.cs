namespace MultimodalHub.Inference.Runtime;

/// <summary>
/// ONNX Runtime execution providers as the hub's settings name them (Inference:ExecutionProviders): "cuda" (NVIDIA CUDA +
/// cuDNN; the CUDA build, -p:UseCuda=true), "tensorrt" (NVIDIA TensorRT, in the same GPU package, needs TensorRT installed),
/// "dml" (DirectML, only in the Windows package Microsoft.ML.OnnxRuntime.DirectML, which the hub does not reference), "cpu".
/// </summary>
public static class ExecutionProviders
{
    public const string Cpu = "cpu";
    public const string Cuda = "cuda";
    public const string TensorRt = "tensorrt";
    public const string DirectMl = "dml";

    public static IReadOnlyList<string> Known { get; } = [Cuda, TensorRt, DirectMl, Cpu];

    public static bool IsGpu(string name) => name is Cuda or TensorRt or DirectMl;

    /// <summary>ONNX Runtime's own name of a provider (as <c>OrtEnv.GetAvailableProviders</c> lists it), or null for an unknown name.</summary>
    public static string? OrtName(string name) => name switch
    {
        Cuda => "CUDAExecutionProvider",
        TensorRt => "TensorrtExecutionProvider",
        DirectMl => "DmlExecutionProvider",
        Cpu => "CPUExecutionProvider",
        _ => null,
    };

    /// <summary>What to do about a provider this build lacks.</summary>
    public static string MissingHint(string name) => name switch
    {
        Cuda or TensorRt => "this is the CPU build of ONNX Runtime; build with -p:UseCuda=true (Microsoft.ML.OnnxRuntime.Gpu.Linux) for NVIDIA GPUs",
        DirectMl => "DirectML is only in the Windows package Microsoft.ML.OnnxRuntime.DirectML",
        _ => "",
    };

    /// <summary>
    /// A 74-byte ONNX model, y = Identity(x) over float[1] (opset 13). A session of it on a provider proves that the provider
    /// starts here: its libraries load (CUDA, cuDNN), the driver answers and the device exists.
    /// </summary>
    public static byte[] ProbeModel() =>
        Convert.FromBase64String("CAgSA2h1Yjo7ChAKAXgSAXkiCElkZW50aXR5EgVwcm9iZVoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEA0=");
}
