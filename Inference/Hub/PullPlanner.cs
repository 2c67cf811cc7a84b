using System.Text.RegularExpressions;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hub;

/// <summary>What to pull, validated: the repository and revision, and optionally the variant, kind and model id.</summary>
public sealed record PullSpec(HubRepoRef Repo, OnnxVariant? Variant = null, ModelKind? Kind = null, string? Name = null)
{
    /// <summary>Validate an API/CLI request; bad fields throw <see cref="InvalidRequestException"/> naming the field.</summary>
    public static PullSpec From(ModelPullRequest request)
    {
        var text = request.Repo?.Trim() ?? "";
        if (request.Revision is { Length: > 0 } rev && !text.Contains('@', StringComparison.Ordinal)) text += "@" + rev.Trim();
        if (!HubRepoRef.TryParse(text, out var repo, out var error)) throw new InvalidRequestException("repo", error);
        OnnxVariant? variant = null;
        if (!string.IsNullOrWhiteSpace(request.Variant) && !string.Equals(request.Variant.Trim(), "auto", StringComparison.OrdinalIgnoreCase))
        {
            variant = OnnxVariants.TryParse(request.Variant, out var v) ? v
                : throw new InvalidRequestException("variant", $"Unknown variant '{request.Variant}'; use one of {string.Join(", ", OnnxVariants.All.Select(OnnxVariants.Name))}.");
        }
        ModelKind? kind = null;
        if (!string.IsNullOrWhiteSpace(request.Kind))
        {
            kind = Enum.TryParse<ModelKind>(request.Kind.Trim(), ignoreCase: true, out var k) && k != ModelKind.Unknown ? k
                : throw new InvalidRequestException("kind", $"Unknown kind '{request.Kind}'; use clip, chat, vlm, diffusion or embedding.");
        }
        if (request.Name is { } name && !PullPlanner.IsValidName(name))
            throw new InvalidRequestException("name", $"'{name}' is not a usable model id: letters, digits, '.', '_' and '-', not starting with '.'.");
        return new PullSpec(repo, variant, kind, request.Name);
    }

    public string ModelName => Name ?? Repo.Name;
}

/// <summary>The files one pull fetches: a repository at a commit, recognised as a kind, in one variant.</summary>
public sealed record PullPlan(HubRepoRef Repo, string Commit, ModelKind Kind, OnnxVariant Variant, IReadOnlyList<OnnxVariant> Variants,
    IReadOnlyList<HubFile> Files, string Name, string? Gated)
{
    public long TotalBytes => Files.Sum(f => f.Size ?? 0);
}

/// <summary>
/// Chooses a repository's files for a kind and a variant: the layout's files and graphs in that variant (ONNX external
/// data beside them, optional graphs such as a diffusers vae_encoder), plus every JSON config and tokenizer file; never
/// the other variants, PyTorch/safetensors weights, images or docs.
/// </summary>
public static partial class PullPlanner
{
    /// <summary>
    /// Graphs an engine uses when present: img2img needs the VAE encoder; the CLIP engine reads the trained logit scale
    /// from the combined onnx/model graph (without it, scores use OpenAI CLIP's 100).
    /// </summary>
    private static readonly IReadOnlyDictionary<ModelKind, string[]> OptionalGraphs = new Dictionary<ModelKind, string[]>
    {
        [ModelKind.Diffusion] = ["vae_encoder/model"],
        [ModelKind.Clip] = ["onnx/model"],
    };

    /// <summary>Tokenizer and prompt files that are not JSON.</summary>
    private static readonly HashSet<string> SupportFileNames = new(StringComparer.Ordinal)
    {
        "merges.txt", "vocab.txt", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "chat_template.jinja",
    };

    public static bool IsValidName(string name) => ModelName().IsMatch(name) && !name.EndsWith(".incomplete", StringComparison.Ordinal);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex ModelName();

    /// <param name="modelType">config.json's model_type, when the repository has one (tells chat from sentence-embedding models).</param>
    public static PullPlan Plan(HubRepoInfo info, PullSpec spec, string? modelType)
    {
        var paths = info.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var kind = spec.Kind ?? ModelLayouts.Recognise(paths, () => modelType);
        var layout = ModelLayouts.Of(kind) ?? throw new PullException(PullErrorKind.Unsupported,
            $"{spec.Repo} holds no ONNX export this hub recognises ({Describe(paths)}). CLIP, chat, vision-language, Stable Diffusion and sentence-embedding "
            + "exports in the Xenova / onnx-community / diffusers ONNX layouts load; pass --kind, or a revision that has an onnx/ folder.");
        var variants = ModelLayouts.CompleteVariants(layout, paths);
        var variant = OnnxVariants.Choose(variants, spec.Variant, OnnxVariants.CpuPreference);
        if (variant is not { } chosen)
        {
            var missing = layout.Graphs.Where(g => !OnnxVariants.All.Any(v => paths.Contains(OnnxVariants.FileOf(g, v)))).ToList();
            throw new PullException(PullErrorKind.Unsupported, spec.Variant is { } asked && variants.Count > 0
                ? $"{spec.Repo} has no {OnnxVariants.Name(asked)} variant of every {kind.ToString().ToLowerInvariant()} graph; it has {string.Join(", ", variants.Select(OnnxVariants.Name))}."
                : missing.Count > 0
                    ? $"{spec.Repo} is not a complete {kind.ToString().ToLowerInvariant()} export: it lacks {string.Join(", ", missing.Select(g => OnnxVariants.FileOf(g, OnnxVariant.Fp32)))}."
                    : $"{spec.Repo} has no variant in which every {kind.ToString().ToLowerInvariant()} graph is present.");
        }
        var needed = new List<string>();
        var absent = layout.Files.Where(f => !paths.Contains(f)).ToList();
        if (absent.Count > 0)
            throw new PullException(PullErrorKind.Unsupported, $"{spec.Repo} lacks {string.Join(", ", absent)}, which a {kind.ToString().ToLowerInvariant()} model needs.");
        if (layout.AnyOf is { Count: > 0 } anyOf && !anyOf.Any(paths.Contains))
            throw new PullException(PullErrorKind.Unsupported, $"{spec.Repo} has neither {string.Join(" nor ", anyOf)}.");
        var graphs = layout.Graphs.Concat(OptionalGraphs.GetValueOrDefault(kind) ?? [])
            .Select(g => OnnxVariants.FileOf(g, chosen)).Where(paths.Contains).ToList();
        foreach (var graph in graphs)
        {
            needed.Add(graph);
            needed.AddRange(paths.Where(p => IsExternalData(graph, p)));
        }
        needed.AddRange(paths.Where(IsSupportFile));
        var files = needed.Distinct(StringComparer.Ordinal).Select(p => info.File(p)!)
            // Configs first (small), graphs last: a model folder is complete when its last graph arrives.
            .OrderBy(f => f.Path.EndsWith(".onnx", StringComparison.Ordinal) ? 2 : f.IsLfs ? 1 : 0).ThenBy(f => f.Path, StringComparer.Ordinal)
            .ToList();
        return new PullPlan(spec.Repo, info.Commit, kind, chosen, variants, files, spec.ModelName, info.Gated);
    }

    /// <summary>ONNX external data of a graph file: "{file}_data", "{file}_data_1", "{file}.data", and diffusers' "weights.pb" in its folder.</summary>
    internal static bool IsExternalData(string graphFile, string path) =>
        path.StartsWith(graphFile + "_data", StringComparison.Ordinal) || path.StartsWith(graphFile + ".data", StringComparison.Ordinal)
        || (path == (Path.GetDirectoryName(graphFile)?.Replace('\\', '/') is { Length: > 0 } dir ? dir + "/weights.pb" : "weights.pb") && !graphFile.StartsWith("onnx/", StringComparison.Ordinal));

    /// <summary>JSON configs (config.json, tokenizer*.json, generation_config.json, preprocessor_config.json, ...) and tokenizer files.</summary>
    internal static bool IsSupportFile(string path) =>
        path.EndsWith(".json", StringComparison.Ordinal) || SupportFileNames.Contains(Path.GetFileName(path)) || path.EndsWith(".jinja", StringComparison.Ordinal);

    private static string Describe(HashSet<string> paths)
    {
        var onnx = paths.Where(p => p.EndsWith(".onnx", StringComparison.Ordinal)).Take(5).ToList();
        return onnx.Count == 0 ? $"{paths.Count} files, none of them .onnx" : "ONNX files: " + string.Join(", ", onnx);
    }
}
