using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Inference.Engines.Vlm;

/// <summary>Decoding settings of a VLM answer: sampler (greedy by default) or beam search.</summary>
public sealed record VlmDecoding(SamplingOptions Sampling, int NumBeams = 1, double LengthPenalty = 1.0);

/// <summary>
/// Generates an answer from an expanded prompt: reuses the conversation's KV cache for the longest kept prefix,
/// embeds (and splices image features into) only the ids after it, runs the shared loop (or beam search) and keeps the
/// conversation's new cache for the next turn.
/// </summary>
public static class VlmRun
{
    public static (GeneratedChoice Choice, LoopTimings Timings, int CachedTokens) Run(VlmModel model, VlmPromptIds prompt, IReadOnlyList<float[]> features,
        string imagesKey, VlmDecoding decoding, ConversationCache? conversations, Action<TextDelta> onDelta, CancellationToken ct)
    {
        var ids = prompt.ExpandedIds;
        var beam = decoding.NumBeams > 1;
        using var past = beam ? null : conversations?.Take(imagesKey, ids);
        var start = past?.Length ?? 0;
        var embeds = VlmPrompt.Embeddings(model, ids, prompt.ImagePositions, features, start);
        var input = new GenerationInput(StepInput.OfEmbeds(embeds, 1, model.HiddenSize), Enumerable.Repeat(1L, ids.Count).ToArray(), [ids], past);
        StepInput Next(long[] tokens) => StepInput.OfEmbeds(VlmEncode.EmbedBatch(model, tokens), tokens.Length, model.HiddenSize);
        var decoder = new ChatDecode(model.Tokenizer, decoding.Sampling.StopSequences);

        GenerationOutput output;
        if (beam)
        {
            output = BeamSearch.Run(model.Runner.HostCache, input, decoding.NumBeams, decoding.LengthPenalty, decoding.Sampling.MaxNewTokens, model.EosIds,
                model.VocabSize, decoding.Sampling.RepetitionPenalty, Next, ct);
            foreach (var id in output.Rows[0].Content)
                if (decoder.Push(0, id, onDelta)) break;
        }
        else
        {
            var settings = new GenerationSettings([new TokenSampler(decoding.Sampling, model.VocabSize)],
                decoding.Sampling.EndIds(model.EosIds), decoding.Sampling.MaxNewTokens,
                model.PadId, KeepCache: conversations is not null);
            output = GenerationLoop.Run(model.Runner, input, settings, Next, (_, id) => decoder.Push(0, id, onDelta), ct);
        }
        var kept = output.Cache;
        try
        {
            decoder.Flush(0, onDelta);
            var row = output.Rows[0];
            if (kept is not null && conversations is not null)
            {
                // The cache covers the prompt and every generated id but the last (which was chosen, not fed).
                var covered = ids.Concat(row.Ids.Take(row.Ids.Count - 1)).ToArray();
                if (covered.Length == kept.Length)
                {
                    conversations.Put(imagesKey, covered, kept);
                    kept = null;
                }
            }
            // PromptTokens: the loop and beam search both count the context ids given, [ids] (the whole prompt, cached part included).
            return (new GeneratedChoice(0, decoder.Text, row.FinishReason, row.Ids), output.Timings, start);
        }
        finally
        {
            kept?.Dispose();
        }
    }
}
