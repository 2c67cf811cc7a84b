using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hub;

/// <summary>
/// `models serve-hub [--root DIR] [--urls http://127.0.0.1:5090] [--owner local] [--token T]`: serves the model folders
/// of a directory (default: the first models root) as a Hugging Face-style hub until Ctrl+C, so another machine (or the
/// e2e tests) can `models pull local/NAME` with HF_ENDPOINT pointing here. Prints {"endpoint", "repos"} once listening.
/// </summary>
public sealed class ServeHubCommand(ModelRegistry registry) : ICliCommand
{
    public string Name => "models serve-hub";

    public string Summary => "serve a models folder as a Hugging Face-style hub (a mirror for HF_ENDPOINT): models serve-hub --urls http://0.0.0.0:5090";

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly("root", "urls", "owner", "token");
        var root = Path.GetFullPath(args.Get("root") ?? (registry.Roots.Count > 0 ? registry.Roots[0] : throw new CliUsageException("No models root is configured; pass --root DIR.")));
        if (!Directory.Exists(root)) throw new CliUsageException($"--root {root} does not exist.");
        var owner = args.Get("owner") ?? "local";
        await using var server = await LocalHubServer.StartAsync(new LocalHubOptions(root, args.Get("urls") ?? "http://127.0.0.1:5090", owner, args.Get("token")), null, ct);
        var repos = Directory.GetDirectories(root).Select(Path.GetFileName).Where(n => n is { Length: > 0 } && !n.StartsWith('.')).Order(StringComparer.Ordinal)
            .Select(n => $"{owner}/{n}").ToList();
        CliApp.WriteJson(stdout, new { endpoint = server.Endpoint.ToString().TrimEnd('/'), repos });
        await stdout.FlushAsync(ct);
        try { await Task.Delay(Timeout.Infinite, ct); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        return 0;
    }
}
