namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>Configuration section "Embedding": request limits and batching of the sentence-embedding engine.</summary>
public sealed class EmbeddingOptions
{
    public const string Section = "Embedding";

    /// <summary>Most texts in one /v1/embeddings request (OpenAI's limit).</summary>
    public int MaxInputs { get; set; } = 2048;

    /// <summary>Longest text in characters; longer ones are refused (400), shorter ones are cut at the model's token limit.</summary>
    public int MaxInputChars { get; set; } = 100_000;

    /// <summary>Texts per ONNX Runtime run; texts are sorted by length first so each batch pads little.</summary>
    public int BatchSize { get; set; } = 32;
}
