using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Vlm;

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
