namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>Configuration section "Clip": request limits and the text-embedding cache.</summary>
public sealed class ClipOptions
{
    public const string Section = "Clip";

    /// <summary>Most labels in one classify request.</summary>
    public int MaxLabels { get; set; } = 1000;

    /// <summary>Most prompt templates in one request (each multiplies the texts to embed).</summary>
    public int MaxTemplates { get; set; } = 32;

    /// <summary>Longest label or template, in characters (the tokenizer truncates at 77 tokens anyway).</summary>
    public int MaxTextChars { get; set; } = 1000;

    /// <summary>Most images in one classify or embeddings request.</summary>
    public int MaxImages { get; set; } = 64;

    /// <summary>Most texts in one embeddings request.</summary>
    public int MaxTexts { get; set; } = 2048;

    /// <summary>Images or texts per ONNX Runtime run (bounds memory for large requests).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Normalised text embeddings kept per loaded model (least recently used dropped first).</summary>
    public int TextCacheEntries { get; set; } = 8192;

    /// <summary>Largest request body /v1/classify and /v1/embeddings accept (several images, or base64 JSON); Kestrel's default is 30 MB.</summary>
    public long MaxRequestBytes { get; set; } = 200L * 1024 * 1024;

    /// <summary>Used when the model has no onnx/model.onnx to read the trained logit scale from (OpenAI CLIP's is 100).</summary>
    public float FallbackLogitScale { get; set; } = 100f;

    /// <summary>SigLIP's logit bias when the model has no onnx/model.onnx to read it from (google/siglip-base-patch16-224's is about -12.9).</summary>
    public float FallbackLogitBias { get; set; } = -12.9f;
}
