using System.Diagnostics.CodeAnalysis;

namespace MultimodalHub.Inference.Runtime;

/// <summary>
/// Weight and precision variants of one ONNX graph, named as transformers.js / Optimum exports name their files
/// (Xenova/*, onnx-community/*): <c>{graph}.onnx</c> (fp32), <c>{graph}_fp16.onnx</c>, <c>{graph}_quantized.onnx</c>
/// (int8 dynamic quantisation, "q8"), <c>{graph}_int8.onnx</c>, <c>{graph}_uint8.onnx</c>, <c>{graph}_q4.onnx</c>
/// (4-bit MatMulNBits, the rest fp32), <c>{graph}_q4f16.onnx</c> (4-bit, the rest fp16), <c>{graph}_bnb4.onnx</c>.
/// diffusers ONNX exports keep one name (<c>unet/model.onnx</c>) and differ by repository or revision instead; their
/// precision is read from the session's input types.
/// </summary>
public enum OnnxVariant { Fp32, Fp16, Q8, Int8, Uint8, Q4, Q4F16, Bnb4 }

public static class OnnxVariants
{
    public static IReadOnlyList<OnnxVariant> All { get; } = Enum.GetValues<OnnxVariant>();

    /// <summary>The order "auto" picks in on a CPU: full precision first, then the int8 kinds (fast on CPUs), then 4-bit, then fp16 (slow on CPUs).</summary>
    public static IReadOnlyList<OnnxVariant> CpuPreference { get; } =
        [OnnxVariant.Fp32, OnnxVariant.Q8, OnnxVariant.Int8, OnnxVariant.Uint8, OnnxVariant.Q4, OnnxVariant.Fp16, OnnxVariant.Q4F16, OnnxVariant.Bnb4];

    /// <summary>The order "auto" picks in on a GPU: fp16 first.</summary>
    public static IReadOnlyList<OnnxVariant> GpuPreference { get; } =
        [OnnxVariant.Fp16, OnnxVariant.Q4F16, OnnxVariant.Fp32, OnnxVariant.Q4, OnnxVariant.Q8, OnnxVariant.Int8, OnnxVariant.Uint8, OnnxVariant.Bnb4];

    /// <summary>The file-name suffix before ".onnx".</summary>
    public static string Suffix(OnnxVariant variant) => variant switch
    {
        OnnxVariant.Fp32 => "",
        OnnxVariant.Fp16 => "_fp16",
        OnnxVariant.Q8 => "_quantized",
        OnnxVariant.Int8 => "_int8",
        OnnxVariant.Uint8 => "_uint8",
        OnnxVariant.Q4 => "_q4",
        OnnxVariant.Q4F16 => "_q4f16",
        OnnxVariant.Bnb4 => "_bnb4",
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    /// <summary>The name users type (--variant q4, Inference:Variant=fp16) and the API reports.</summary>
    public static string Name(OnnxVariant variant) => variant switch
    {
        OnnxVariant.Fp32 => "fp32",
        OnnxVariant.Fp16 => "fp16",
        OnnxVariant.Q8 => "q8",
        OnnxVariant.Int8 => "int8",
        OnnxVariant.Uint8 => "uint8",
        OnnxVariant.Q4 => "q4",
        OnnxVariant.Q4F16 => "q4f16",
        OnnxVariant.Bnb4 => "bnb4",
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    /// <summary>Parse a variant name (case-insensitive; "quantized" is q8).</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out OnnxVariant variant)
    {
        variant = OnnxVariant.Fp32;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var t = text.Trim().ToLowerInvariant();
        if (t == "quantized") { variant = OnnxVariant.Q8; return true; }
        foreach (var v in All)
        {
            if (Name(v) == t) { variant = v; return true; }
        }
        return false;
    }

    /// <summary>The relative file of a graph in a variant: ("onnx/model", Q4) → "onnx/model_q4.onnx".</summary>
    public static string FileOf(string graph, OnnxVariant variant) => graph + Suffix(variant) + ".onnx";

    /// <summary>
    /// The graph and variant of an .onnx file name: "onnx/decoder_model_merged_q4f16.onnx" → ("onnx/decoder_model_merged", Q4F16);
    /// "onnx/model.onnx" → ("onnx/model", Fp32); null for a file that is not .onnx.
    /// </summary>
    public static (string Graph, OnnxVariant Variant)? Parse(string relativePath)
    {
        if (!relativePath.EndsWith(".onnx", StringComparison.Ordinal)) return null;
        var stem = relativePath[..^".onnx".Length];
        // Longest suffix first: "_q4f16" before "_q4" is not needed (they differ after "_q4"), but keep the rule explicit.
        foreach (var v in All.Where(v => v != OnnxVariant.Fp32).OrderByDescending(v => Suffix(v).Length))
        {
            var suffix = Suffix(v);
            if (stem.EndsWith(suffix, StringComparison.Ordinal) && stem.Length > suffix.Length) return (stem[..^suffix.Length], v);
        }
        return (stem, OnnxVariant.Fp32);
    }

    /// <summary>The variants of <paramref name="graph"/> present in <paramref name="files"/> (relative paths, '/'-separated).</summary>
    public static IReadOnlyList<OnnxVariant> Present(IEnumerable<string> files, string graph)
    {
        var set = new HashSet<string>(files, StringComparer.Ordinal);
        return All.Where(v => set.Contains(FileOf(graph, v))).ToArray();
    }

    /// <summary>
    /// Files ONNX Runtime may read beside an .onnx file (external data): "{file}_data" (Optimum, transformers.js),
    /// "{file}.data" (torch.onnx). Both are relative to the same folder.
    /// </summary>
    public static IReadOnlyList<string> ExternalDataCandidates(string relativeOnnxFile) =>
        [relativeOnnxFile + "_data", relativeOnnxFile + ".data"];

    /// <summary>The variant to use among <paramref name="available"/>: the requested one if present, else the first of the preference order.</summary>
    public static OnnxVariant? Choose(IReadOnlyCollection<OnnxVariant> available, OnnxVariant? requested, IReadOnlyList<OnnxVariant> preference)
    {
        if (requested is { } r) return available.Contains(r) ? r : null;
        foreach (var v in preference)
        {
            if (available.Contains(v)) return v;
        }
        return null;
    }
}
