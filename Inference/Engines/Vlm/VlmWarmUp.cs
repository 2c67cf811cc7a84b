using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>
/// Warm-up of a vision-language model: a grey image through the vision encoder, then a two-token greedy answer to a
/// short text prompt (embeddings, prompt pass, one cached step). Nothing is kept in the feature or conversation caches.
/// </summary>
internal sealed class VlmWarmUp : WarmUp<VlmModel>
{
    protected override void Run(VlmModel model, CancellationToken ct)
    {
        var image = RgbImage.Filled(model.ImageSize, model.ImageSize, 128, 128, 128);
        VlmEncode.ImageFeatures(model, VlmPreprocess.Pixels(model, image), ct);
        var ids = model.Tokenizer.Encode("Hello", addSpecialTokens: false);
        if (ids.Count == 0) ids = [model.PadId];
        var embeds = VlmEncode.Embed(model, ids.Select(i => (long)i).ToList());
        var input = new GenerationInput(StepInput.OfEmbeds(embeds, 1, model.HiddenSize), Enumerable.Repeat(1L, ids.Count).ToArray(), [ids], null);
        var settings = new GenerationSettings([new TokenSampler(SamplingOptions.GreedyDefault(2), model.VocabSize)], new HashSet<int>(), 2, model.PadId);
        using var output = GenerationLoop.Run(model.Runner, input, settings,
            tokens => StepInput.OfEmbeds(VlmEncode.EmbedBatch(model, tokens), tokens.Length, model.HiddenSize), (_, _) => false, ct);
    }
}
