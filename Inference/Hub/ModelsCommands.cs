using MultimodalHub.Contracts;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hub;

/// <summary>One model as `models list` and `models info` print it: kind, state, variants, size on disk, and where it was pulled from.</summary>
public sealed record LocalModel(string Id, ModelKind Kind, ModelStatus Status, string Path, long Bytes, string? Variant, IReadOnlyList<string>? Variants,
    string? Error, PullManifest? Source, IReadOnlyList<string>? Files = null)
{
    public static LocalModel Of(ModelDescriptor m, bool withFiles) => new(m.Id, m.Kind, m.IsValid ? ModelStatus.Ready : ModelStatus.Error, m.Directory,
        ModelPuller.DiskUsage(m.Directory), m.Variants is { Count: > 0 } ? OnnxVariants.Name(m.Variant) : null, m.Variants?.Select(OnnxVariants.Name).ToList(),
        m.Error, PullManifest.Read(m.Directory), withFiles ? m.Files : null);
}

/// <summary>`models list`: every model folder in the models roots.</summary>
public sealed class ModelsListCommand(ModelRegistry registry) : ICliCommand
{
    public string Name => "models list";

    public string Summary => "list the installed models with kind, variant, size and source";

    public Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly();
        registry.Refresh(TimeSpan.Zero);
        CliApp.WriteJson(stdout, registry.Models.Select(m => LocalModel.Of(m, withFiles: false)).ToList());
        return Task.FromResult(0);
    }
}

/// <summary>`models info ID`: one model with its files and, for a pulled one, its repository, commit and file hashes.</summary>
public sealed class ModelInfoCommand(ModelRegistry registry) : ICliCommand
{
    public string Name => "models info";

    public string Summary => "show one model: files, variants, size, and the repository and commit it was pulled from";

    public Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly();
        if (args.Positional is not [var id]) throw new CliUsageException("Name one model id, e.g. models info clip-shapes.");
        registry.Refresh(TimeSpan.Zero);
        var model = registry.Find(id) ?? throw new ModelNotFoundException("id", $"Unknown model '{id}'; models list shows the installed ones.");
        CliApp.WriteJson(stdout, LocalModel.Of(model, withFiles: true));
        return Task.FromResult(0);
    }
}

/// <summary>`models rm ID`: delete a model folder.</summary>
public sealed class ModelRemoveCommand(ModelPuller puller) : ICliCommand
{
    public string Name => "models rm";

    public string Summary => "delete a model folder from the models root: models rm clip-vit-base-patch32";

    public Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly();
        if (args.Positional is not [var id]) throw new CliUsageException("Name one model id, e.g. models rm clip-vit-base-patch32.");
        CliApp.WriteJson(stdout, puller.Delete(id));
        return Task.FromResult(0);
    }
}
