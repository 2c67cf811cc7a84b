using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>Warm-up of a chat model: a two-token greedy generation, so both the prompt pass and a cached decode step have run.</summary>
internal sealed class ChatWarmUp : WarmUp<ChatModel>
{
    protected override void Run(ChatModel model, CancellationToken ct)
    {
        var ids = model.Tokenizer.Encode("Hello", addSpecialTokens: false);
        ChatRun.Run(model, ids.Count > 0 ? ids : [model.PadId], SamplingOptions.GreedyDefault(2) with { IgnoreEos = true }, 1, _ => { }, ct);
    }
}
