using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>What `caption` and `ask` print.</summary>
public sealed record VlmCliResult(string Model, string Text, CompletionUsage Usage, GenerationTimings Timings, IReadOnlyList<VlmCliAnswer>? Answers = null);

public sealed record VlmCliAnswer(string Question, string Answer, GenerationTimings Timings);

internal static class VlmCli
{
    public static RgbImage ReadImage(CliArgs args, ImageLimits limits)
    {
        var path = args.Required("image");
        if (!File.Exists(path)) throw new CliUsageException($"--image: file '{path}' not found.");
        return ImageCodec.Decode(File.ReadAllBytes(path), limits, "image");
    }

    public static SamplingRequest Sampling(CliArgs args) => new(
        args.Get("temperature") is null ? null : args.GetDouble("temperature", 0), null, null, null, null, null, null,
        args.Get("max-tokens") is null ? null : args.GetInt("max-tokens", 0), null,
        args.GetLong("seed"));
}

