using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Clip;

/// <summary>Warm-up of a CLIP model: one grey image through the vision tower and one prompt through the text tower (not cached).</summary>
internal sealed class ClipWarmUp : WarmUp<ClipModel>
{
    protected override void Run(ClipModel model, CancellationToken ct)
    {
        var image = RgbImage.Filled(model.Processor.Width, model.Processor.Height, 128, 128, 128);
        model.Towers.EmbedImages(ClipPreprocess.PixelValues(model.Processor, [image]), 1, model.Processor.Height, model.Processor.Width, 1, ct);
        model.Towers.EmbedTexts(ClipTokenize.Encode(model.Tokenizer, ["a photo"], model.MaxTextLength), 1, ct);
    }
}
