using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Embedding;

/// <summary>Warm-up of a sentence encoder: one short text through the encoder and pooling.</summary>
internal sealed class EmbeddingWarmUp : WarmUp<EmbeddingModel>
{
    protected override void Run(EmbeddingModel model, CancellationToken ct) =>
        EmbeddingEngine.Run(model, [model.Tokenizer.Encode("warm up", model.Config.MaxLength)], 1, ct);
}
