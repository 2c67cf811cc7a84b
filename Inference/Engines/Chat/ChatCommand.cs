using MultimodalHub.Contracts;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>The JSON `chat --json` prints.</summary>
public sealed record ChatCliResult(string Model, string Text, string FinishReason, CompletionUsage Usage, GenerationTimings Timings,
    IReadOnlyDictionary<string, int>? Votes = null, ContextNote? Context = null);

/// <summary>`chat --prompt "..." [--system ...] [--model ...] [--temperature T] [--top-p P] [--top-k K] [--seed S] [--max-tokens N] [--stop S] [--preset few_shot|step_by_step|self_consistency] [--json]`.</summary>
public sealed class ChatCommand(ChatEngine engine) : ICliCommand
{
    public string Name => "chat";

    public string Summary => "Chat with an LLM: --prompt \"count from one to five\" [--system ...] [--temperature 0] [--max-tokens N] [--json]";

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly("prompt", "system", "model", "temperature", "top-p", "top-k", "min-p", "seed", "max-tokens", "stop", "repetition-penalty", "preset", "json");
        var prompt = args.Required("prompt");
        var messages = new List<ChatMessage>();
        if (args.Get("system") is { } system) messages.Add(new ChatMessage("system", system));
        messages.Add(new ChatMessage("user", prompt));
        if (string.IsNullOrWhiteSpace(prompt)) throw new CliUsageException("--prompt must not be empty.");
        double? D(string n) => args.Get(n) is null ? null : args.GetDouble(n, 0);
        int? I(string n) => args.Get(n) is null ? null : args.GetInt(n, 0);
        var preset = args.Get("preset") switch
        {
            null or "none" => ChatPreset.None,
            "few_shot" or "few-shot" => ChatPreset.FewShot,
            "step_by_step" or "step-by-step" => ChatPreset.StepByStep,
            "self_consistency" or "self-consistency" => ChatPreset.SelfConsistency,
            var p => throw new CliUsageException($"--preset must be few_shot, step_by_step or self_consistency, not '{p}'."),
        };
        var sampling = new SamplingRequest(D("temperature"), D("top-p"), I("top-k"), D("min-p"), D("repetition-penalty"), null, null, I("max-tokens"),
            args.GetAll("stop").Count > 0 ? args.GetAll("stop") : null, args.GetLong("seed"));
        var json = args.Has("json");
        var summary = await engine.CompleteAsync(new ChatJob(args.Get("model"), messages, null, sampling, 1, preset), json ? null : async (d, token) =>
        {
            await stdout.WriteAsync(d.Text);
            await stdout.FlushAsync(token);
        }, ct);
        var choice = summary.Choices[0];
        if (json) CliApp.WriteJson(stdout, new ChatCliResult(summary.Model, choice.Text, choice.FinishReason, summary.Usage, summary.ApiTimings, choice.Votes));
        else
        {
            await stdout.WriteLineAsync();
            var t = summary.ApiTimings;
            await stdout.WriteLineAsync($"[{t.PromptTokens} prompt tokens, {t.GeneratedTokens} generated, prefill {t.PrefillMs:F1} ms, {t.DecodeTokensPerSecond:F1} tokens/s, first token {t.TimeToFirstTokenMs:F1} ms]");
        }
        return 0;
    }
}
