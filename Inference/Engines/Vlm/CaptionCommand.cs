using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>`caption --image x.png [--model ...] [--prompt ...] [--num-beams N] [--length-penalty L] [--max-tokens N]`.</summary>
public sealed class CaptionCommand(VlmEngine engine, IOptions<ImageLimits> limits) : ICliCommand
{
    public string Name => "caption";

    public string Summary => "Caption an image: --image a.png [--num-beams 3]";

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly("image", "model", "prompt", "num-beams", "length-penalty", "max-tokens", "temperature", "seed");
        var image = VlmCli.ReadImage(args, limits.Value);
        var prompt = args.Get("prompt") ?? engine.Options.CaptionPrompt;
        var job = new VlmJob(args.Get("model"), VlmEngine.CaptionMessages(prompt), [image], VlmCli.Sampling(args),
            args.GetInt("num-beams", 1), args.GetDouble("length-penalty", 1.0));
        var (summary, _) = await engine.CompleteAsync(job, null, ct);
        CliApp.WriteJson(stdout, new VlmCliResult(summary.Model, summary.Choices[0].Text, summary.Usage, summary.ApiTimings));
        return 0;
    }
}

