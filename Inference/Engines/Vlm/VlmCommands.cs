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
        args.Get("seed") is { } s ? long.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : null);
}

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

/// <summary>`ask --image x.png --question "..." [--question "..."]...`: a conversation about one image, one answer per question.</summary>
public sealed class AskCommand(VlmEngine engine, IOptions<ImageLimits> limits) : ICliCommand
{
    public string Name => "ask";

    public string Summary => "Ask about an image: --image a.png --question \"what color is the star?\" (repeat --question for a conversation)";

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly("image", "model", "question", "max-tokens", "temperature", "seed", "system");
        var image = VlmCli.ReadImage(args, limits.Value);
        var questions = args.GetAll("question");
        if (questions.Count == 0) throw new CliUsageException("--question is required.");
        var history = new List<VqaTurn>();
        var answers = new List<VlmCliAnswer>();
        GenerationSummary? last = null;
        foreach (var q in questions)
        {
            if (string.IsNullOrWhiteSpace(q)) throw new InvalidRequestException("question", "question must not be empty.");
            var job = new VlmJob(args.Get("model"), VlmEngine.VqaMessages(q, history, args.Get("system")), [image], VlmCli.Sampling(args));
            (last, _) = await engine.CompleteAsync(job, null, ct);
            var answer = last.Choices[0].Text;
            answers.Add(new VlmCliAnswer(q, answer, last.ApiTimings));
            history.Add(new VqaTurn(q, answer));
        }
        CliApp.WriteJson(stdout, new VlmCliResult(last!.Model, answers[^1].Answer, last.Usage, last.ApiTimings, answers.Count > 1 ? answers : null));
        return 0;
    }
}
