using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Tests.Support;

/// <summary>The variants-{model} fixtures of Tests/Fixtures/make_variants.py: the bundled models in every transformers.js file variant.</summary>
public static class VariantFixtures
{
    /// <summary>Every variant the script writes (fp32 is model.onnx + model.onnx_data, external data).</summary>
    public static TheoryData<string> Names => new() { "fp32", "fp16", "q8", "int8", "uint8", "q4", "q4f16" };

    public static OnnxVariant Parse(string name) => OnnxVariants.TryParse(name, out var v) ? v : throw new ArgumentException(name);

    public static string Dir(string model) => Fixtures.Dir("variants-" + model);

    /// <summary>The fixture's descriptor with <paramref name="variant"/> chosen.</summary>
    public static ModelDescriptor Describe(string model, string variant)
    {
        var d = ModelRegistry.Describe(Dir(model), new VariantChoice(Parse(variant), OnnxVariants.CpuPreference));
        if (d.Error is not null) throw new InvalidOperationException(d.Error);
        return d;
    }

    public static InferenceSession Session(string path)
    {
        using var so = new SessionOptions { IntraOpNumThreads = 1 };
        return new InferenceSession(path, so);
    }
}
