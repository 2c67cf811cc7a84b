using System.Text.Json;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;

namespace MultimodalHub.Inference.Runtime;

/// <summary>
/// A model folder found under a models root, with its recognised kind, whether its files are usable, the ONNX variants
/// it holds in full (<see cref="Variants"/>) and the one it runs (<see cref="Variant"/>).
/// </summary>
public sealed record ModelDescriptor(
    string Id, ModelKind Kind, string Directory, IReadOnlyList<string> Files, string? Error,
    IReadOnlyList<OnnxVariant>? Variants = null, OnnxVariant Variant = OnnxVariant.Fp32)
{
    public bool IsValid => Error is null && Kind != ModelKind.Unknown;

    public string PathOf(string relative) => System.IO.Path.Combine(Directory, relative);

    /// <summary>The full path of a graph ("onnx/model", "unet/model") in the variant this model runs.</summary>
    public string Onnx(string graph) => PathOf(OnnxVariants.FileOf(graph, Variant));
}

/// <summary>Which variant to run: the one asked for (configuration), else the first present in the preference order.</summary>
public sealed record VariantChoice(OnnxVariant? Requested, IReadOnlyList<OnnxVariant> Preference)
{
    public static VariantChoice Auto { get; } = new(null, OnnxVariants.CpuPreference);
}

/// <summary>
/// The file layouts the hub recognises, each one of a real public export family: the JSON/tokenizer files a kind needs
/// and its ONNX graphs (without ".onnx"; each may be present in several <see cref="OnnxVariant"/>s).
/// </summary>
/// <param name="AnyOf">Files of which at least one must be present (e.g. tokenizer.json or vocab.txt); empty when none.</param>
public sealed record ModelLayout(IReadOnlyList<string> Files, IReadOnlyList<string> Graphs, IReadOnlyList<string>? AnyOf = null)
{
    /// <summary>Every file of the layout in one variant.</summary>
    public IEnumerable<string> FilesFor(OnnxVariant variant) => Files.Concat(Graphs.Select(g => OnnxVariants.FileOf(g, variant)));
}

public static class ModelLayouts
{
    /// <summary>diffusers OnnxStableDiffusionPipeline export.</summary>
    public static readonly ModelLayout Diffusion = new(
        ["model_index.json", "scheduler/scheduler_config.json"], ["text_encoder/model", "unet/model", "vae_decoder/model"]);

    /// <summary>onnx-community vision-language export (vision encoder + embed_tokens + merged decoder).</summary>
    public static readonly ModelLayout Vlm = new(
        ["config.json", "tokenizer.json"], ["onnx/vision_encoder", "onnx/embed_tokens", "onnx/decoder_model_merged"]);

    /// <summary>Xenova/transformers.js CLIP export.</summary>
    public static readonly ModelLayout Clip = new(
        ["config.json", "preprocessor_config.json", "tokenizer.json"], ["onnx/text_model", "onnx/vision_model"]);

    /// <summary>onnx-community decoder-only LLM with KV cache (Qwen2.5, SmolLM2, Llama 3 exports).</summary>
    public static readonly ModelLayout Chat = new(["config.json", "tokenizer.json", "tokenizer_config.json"], ["onnx/model"]);

    /// <summary>
    /// Sentence encoder (BERT family) as onnx-community / Xenova and sentence-transformers repos ship it: onnx/model.onnx,
    /// config.json and a WordPiece tokenizer (tokenizer.json, or only BERT's vocab.txt); optional modules.json,
    /// 1_Pooling/config.json and sentence_bert_config.json say how to pool, normalise and truncate.
    /// </summary>
    public static readonly ModelLayout Embedding = new(["config.json"], ["onnx/model"], ["tokenizer.json", "vocab.txt"]);

    /// <summary>config.json model types of encoder-only transformers (sentence encoders), never chat decoders.</summary>
    private static readonly HashSet<string> EncoderModelTypes = new(StringComparer.Ordinal)
    {
        "bert", "distilbert", "mpnet", "roberta", "xlm-roberta", "electra", "albert", "camembert", "nomic_bert", "modernbert",
    };

    /// <summary>Recognise a folder's kind from the files it has (its marker files), before checking that all of them are present.</summary>
    public static ModelKind Recognise(string dir) => Recognise(f => File.Exists(Path.Combine(dir, f)), () => ConfigModelType(dir));

    /// <summary>
    /// Recognise a kind from a list of relative file paths (a hub repository's, before downloading);
    /// <paramref name="modelType"/> reads config.json's model_type only when the files alone do not tell.
    /// </summary>
    public static ModelKind Recognise(IReadOnlySet<string> files, Func<string?> modelType) => Recognise(files.Contains, modelType);

    private static ModelKind Recognise(Func<string, bool> has, Func<string?> readModelType)
    {
        bool Has(string f) => has(f);
        bool HasGraph(string g) => OnnxVariants.All.Any(v => Has(OnnxVariants.FileOf(g, v)));
        if (Has("model_index.json")) return ModelKind.Diffusion;
        if (HasGraph("onnx/vision_encoder") || HasGraph("onnx/embed_tokens")) return ModelKind.Vlm;
        if (HasGraph("onnx/text_model") || HasGraph("onnx/vision_model")) return ModelKind.Clip;
        if (!HasGraph("onnx/model")) return ModelKind.Unknown;
        var modelType = readModelType();
        if (modelType == "clip") return ModelKind.Clip;
        // A sentence encoder says so by its sentence-transformers files, its encoder model type, or a BERT vocab.txt without
        // tokenizer.json; a decoder LLM (qwen2, llama, ...) has none of these.
        if (Has("modules.json") || Has("1_Pooling/config.json") || Has("sentence_bert_config.json")
            || (modelType is not null && EncoderModelTypes.Contains(modelType))
            || (Has("vocab.txt") && !Has("tokenizer.json")))
            return ModelKind.Embedding;
        return Has("config.json") ? ModelKind.Chat : ModelKind.Unknown;
    }

    public static ModelLayout? Of(ModelKind kind) => kind switch
    {
        ModelKind.Diffusion => Diffusion,
        ModelKind.Vlm => Vlm,
        ModelKind.Clip => Clip,
        ModelKind.Chat => Chat,
        ModelKind.Embedding => Embedding,
        _ => null,
    };

    /// <summary>The variants in which every graph of the layout is present.</summary>
    public static IReadOnlyList<OnnxVariant> CompleteVariants(ModelLayout layout, IReadOnlyCollection<string> files) =>
        OnnxVariants.All.Where(v => layout.Graphs.All(g => files.Contains(OnnxVariants.FileOf(g, v)))).ToArray();

    /// <summary>config.json's model_type, or null when there is none (no file, not JSON, no such key).</summary>
    private static string? ConfigModelType(string dir)
    {
        try
        {
            var path = Path.Combine(dir, "config.json");
            return File.Exists(path) ? ModelType(File.ReadAllBytes(path)) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The model_type of a config.json's bytes, or null (not JSON, no such key).</summary>
    public static string? ModelType(byte[] configJson)
    {
        try
        {
            using var doc = JsonDocument.Parse(configJson);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("model_type", out var t)
                && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// Scans the configured model roots and keeps the list of models. Rescans on demand (<see cref="Refresh"/>);
/// reading is lock-free on an immutable snapshot.
/// </summary>
public sealed class ModelRegistry
{
    private readonly IReadOnlyList<string> _roots;
    private readonly InferenceOptions _options;
    private readonly ILogger<ModelRegistry> _log;
    private readonly TimeProvider _clock = TimeProvider.System;
    private readonly Lock _scanLock = new();
    private volatile Snapshot? _snapshot;

    private readonly OrtSessionFactory? _sessions;

    /// <param name="sessions">Says which models run on a GPU provider, whose "auto" variant is then fp16 first; without it every model counts as CPU.</param>
    public ModelRegistry(IOptions<InferenceOptions> options, IHostEnvironment env, ILogger<ModelRegistry> log, OrtSessionFactory? sessions = null)
    {
        _log = log;
        _options = options.Value;
        _sessions = sessions;
        _roots = options.Value.EffectiveModelRoots
            .Select(r => Path.GetFullPath(Path.IsPathRooted(r) ? r : Path.Combine(env.ContentRootPath, r)))
            .ToArray();
        _snapshot = Scan();
    }

    private Snapshot Current => _snapshot!;

    public IReadOnlyList<string> Roots => _roots;

    public IReadOnlyList<ModelDescriptor> Models => Current.Models;

    /// <summary>The problem with one root (as listed in <see cref="Roots"/>: missing, unreadable), or null.</summary>
    public string? RootError(string root) => Current.RootErrors.GetValueOrDefault(root);

    /// <summary>Rescan the roots unless the last scan is younger than maxAge (GET /v1/models is polled; the disk need not be).</summary>
    public void Refresh(TimeSpan maxAge)
    {
        if (_clock.GetUtcNow() - Current.ScannedAt < maxAge) return;
        lock (_scanLock)
        {
            if (_clock.GetUtcNow() - Current.ScannedAt < maxAge) return; // another caller just rescanned
            _snapshot = Scan();
        }
    }

    public ModelDescriptor? Find(string id) =>
        Current.Models.FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The model to run for a request: the named one (which must exist, be valid and be of the kind), or, when
    /// none is named, the first valid one of the kind. Throws <see cref="ModelNotFoundException"/> otherwise.
    /// </summary>
    public ModelDescriptor Resolve(string? id, ModelKind kind, string field = "model")
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            return Current.Models.FirstOrDefault(m => m.Kind == kind && m.IsValid)
                ?? throw new ModelNotFoundException(field, $"No usable {kind.ToString().ToLowerInvariant()} model is installed.");
        }
        var model = Find(id) ?? throw new ModelNotFoundException(field, $"Unknown model '{id}'. GET /v1/models lists the installed ones.");
        if (model.Kind != kind)
            throw new InvalidRequestException(field, $"Model '{model.Id}' is a {model.Kind.ToString().ToLowerInvariant()} model, not a {kind.ToString().ToLowerInvariant()} model.");
        if (model.Error is not null)
            throw new InvalidRequestException(field, $"Model '{model.Id}' cannot be used: {model.Error}");
        return model;
    }

    private Snapshot Scan()
    {
        var models = new List<ModelDescriptor>();
        var rootErrors = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var root in _roots)
        {
            string[] dirs;
            try
            {
                if (!Directory.Exists(root)) { rootErrors[root] = $"Models directory '{root}' does not exist."; continue; }
                dirs = Directory.GetDirectories(root);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                rootErrors[root] = $"Models directory '{root}' cannot be read: {e.Message}";
                continue;
            }
            foreach (var dir in dirs.Order(StringComparer.Ordinal))
            {
                if (Path.GetFileName(dir).StartsWith('.')) continue;
                var id = Path.GetFileName(dir);
                var onGpu = _sessions is not null && ExecutionProviders.IsGpu(_sessions.ProviderFor(id));
                var model = Describe(dir, _options.VariantChoiceFor(id, onGpu));
                if (models.Any(m => string.Equals(m.Id, model.Id, StringComparison.OrdinalIgnoreCase)))
                {
                    _log.LogWarning("Model {ModelId} in {Directory} is shadowed by an earlier root", model.Id, dir);
                    continue;
                }
                models.Add(model);
            }
        }
        // Log only what changed since the last scan (the first scan logs every model).
        var before = _snapshot?.Models.ToDictionary(m => m.Id, StringComparer.OrdinalIgnoreCase);
        foreach (var m in models)
        {
            if (before is not null && before.Remove(m.Id, out var old) && old.Kind == m.Kind && old.Directory == m.Directory && old.Error == m.Error) continue;
            if (m.Error is null) _log.LogInformation("Model {ModelId} ({Kind}) at {Directory}", m.Id, m.Kind, m.Directory);
            else _log.LogWarning("Model {ModelId} ({Kind}) at {Directory} is unusable: {Reason}", m.Id, m.Kind, m.Directory, m.Error);
        }
        foreach (var gone in before?.Values.ToList() ?? [])
            _log.LogInformation("Model {ModelId} is no longer in {Directory}", gone.Id, gone.Directory);
        return new Snapshot(models, rootErrors, _clock.GetUtcNow());
    }

    /// <summary>Recognise and validate one folder, and choose the variant it runs; never throws.</summary>
    public static ModelDescriptor Describe(string dir, VariantChoice? choice = null)
    {
        choice ??= VariantChoice.Auto;
        var id = Path.GetFileName(Path.TrimEndingDirectorySeparator(dir));
        try
        {
            var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/'))
                .Where(f => !f.StartsWith("goldens/", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
                .ToArray();
            var kind = ModelLayouts.Recognise(dir);
            var layout = ModelLayouts.Of(kind);
            if (layout is null)
                return new(id, kind, dir, files, "No recognised model layout (expected a CLIP, Stable Diffusion, chat LLM, vision-language or sentence-embedding ONNX export).");
            var variants = ModelLayouts.CompleteVariants(layout, files);
            var problems = new List<string>();
            var variant = OnnxVariants.Choose(variants, choice.Requested, choice.Preference);
            if (variant is null)
            {
                if (choice.Requested is { } r && variants.Count > 0)
                    problems.Add($"variant {OnnxVariants.Name(r)} is configured but the folder holds {string.Join(", ", variants.Select(OnnxVariants.Name))}");
                else
                    problems.AddRange(layout.Graphs.Where(g => !OnnxVariants.All.Any(v => files.Contains(OnnxVariants.FileOf(g, v))))
                        .Select(g => $"missing {OnnxVariants.FileOf(g, OnnxVariant.Fp32)}"));
                if (problems.Count == 0) problems.Add("no variant holds every graph (" + string.Join(", ", layout.Graphs.Select(g => OnnxVariants.FileOf(g, OnnxVariant.Fp32))) + ")");
            }
            foreach (var required in layout.FilesFor(variant ?? OnnxVariant.Fp32))
            {
                var path = Path.Combine(dir, required);
                if (!File.Exists(path))
                {
                    if (variant is not null || required.EndsWith(".json", StringComparison.Ordinal)) problems.Add($"missing {required}");
                }
                else if (new FileInfo(path).Length == 0) problems.Add($"{required} is empty");
                else if (required.EndsWith(".json", StringComparison.Ordinal) && !IsJson(path)) problems.Add($"{required} is not valid JSON");
                else if (required.EndsWith(".onnx", StringComparison.Ordinal) && !LooksLikeOnnx(path)) problems.Add($"{required} is not an ONNX model");
            }
            if (layout.AnyOf is { Count: > 0 } anyOf && !anyOf.Any(f => files.Contains(f)))
                problems.Add($"missing {string.Join(" or ", anyOf)}");
            return new(id, kind, dir, files, problems.Count == 0 ? null : string.Join("; ", problems.Distinct()), variants, variant ?? OnnxVariant.Fp32);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(id, ModelKind.Unknown, dir, [], $"Cannot read the model folder: {e.Message}");
        }
    }

    private static bool IsJson(string path)
    {
        try { using var _ = JsonDocument.Parse(File.ReadAllBytes(path)); return true; }
        catch (JsonException) { return false; }
    }

    /// <summary>Cheap check of the protobuf header: an ONNX ModelProto starts with field 1 (ir_version, varint): byte 0x08.</summary>
    private static bool LooksLikeOnnx(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        return f.Read(head) == 2 && head[0] == 0x08 && head[1] is > 0 and < 64;
    }

    /// <param name="RootErrors">Problems with the roots themselves, keyed by root.</param>
    private sealed record Snapshot(IReadOnlyList<ModelDescriptor> Models, IReadOnlyDictionary<string, string> RootErrors, DateTimeOffset ScannedAt);
}
