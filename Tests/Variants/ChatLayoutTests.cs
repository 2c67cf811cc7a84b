using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Tests.Chat;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Variants;

/// <summary>
/// shapes-chat as other exports and families write it (Tests/Fixtures/make_chat_layouts.py): without position_ids,
/// with num_logits_to_keep, and with Llama / SmolLM2 / Phi-3 / GPT-2 config keys and eos ids given as an int, a list
/// or only in config.json. Each loads as a chat model and answers the goldens exactly.
/// </summary>
public sealed class ChatLayoutTests
{
    private static readonly OrtSessionFactory Sessions =
        new(Options.Create(new InferenceOptions { IntraOpThreads = 1, UseCuda = false }), NullLogger<OrtSessionFactory>.Instance);

    private static ChatModel Load(string fixture) => new(ModelRegistry.Describe(Fixtures.Dir(fixture)), Sessions);

    [Theory]
    [InlineData("chat-llama", 4096, new[] { 1284 })]
    [InlineData("chat-smollm2", 8192, new[] { 1284 })]
    [InlineData("chat-phi3", 4096, new[] { 1284, 1282, 1283 })]
    [InlineData("chat-gpt2-keys", 1024, new[] { 1284, 1282 })]
    public void Family_configs_give_the_same_spec_and_their_own_window_and_eos_ids(string fixture, int window, int[] eos)
    {
        using var model = Load(fixture);
        var s = model.Spec;
        Assert.Equal((4, 2, 32, 128, 1344), (s.NumLayers, s.NumKvHeads, s.HeadDim, s.HiddenSize, s.LogitsWidth));
        Assert.Equal(window, model.ContextWindow);
        Assert.Equal(eos, model.Defaults.EosIds);
        Assert.Equal(eos.ToHashSet(), model.EosIds);
        AssertAnswersGoldens(model);
    }

    [Fact]
    public void A_decoder_without_position_ids_is_fed_none_and_answers_the_goldens_batched_with_left_padding()
    {
        using var model = Load("chat-no-position-ids");
        Assert.False(model.Spec.HasPositionIds);
        Assert.DoesNotContain("position_ids", model.Session.InputNames);
        AssertAnswersGoldens(model);
        // Two prompts of different lengths in one batch: the shorter is left-padded, and the graph's own positions skip the padding.
        var a = ChatGoldens.Conversation("single_count");
        var b = ChatGoldens.Conversation("multi_turn_with_system");
        var rows = Greedy(model, [a.GetProperty("prompt_ids").Ints(), b.GetProperty("prompt_ids").Ints()], 24);
        Assert.Equal(a.GetProperty("generated_ids").Ints().Take(24), rows[0].Take(24));
        Assert.Equal(b.GetProperty("generated_ids").Ints().Take(24), rows[1].Take(24));
    }

    [Fact]
    public void A_decoder_with_num_logits_to_keep_is_fed_it_and_returns_only_the_positions_asked_for()
    {
        using var model = Load("chat-logits-to-keep");
        Assert.Equal("num_logits_to_keep", model.Spec.LogitsToKeepInput);
        AssertAnswersGoldens(model);
        // Prompt scoring asks for several positions: the export computes exactly those, equal to the bundled model's.
        using var reference = new ChatModel(ModelRegistry.Describe(Repo.Model("shapes-chat")), Sessions);
        var ids = ChatGoldens.Conversation("single_count").GetProperty("prompt_ids").Ints().Select(i => (long)i).ToArray();
        var mask = Enumerable.Repeat(1L, ids.Length).ToArray();
        float[] Logits(ChatModel m)
        {
            using var empty = KvCache.Empty(m.Spec, 1);
            using var step = m.Runner.Run(StepInput.OfIds(ids, 1), mask, DecoderRunner.Positions(mask, 1, ids.Length), empty, CancellationToken.None, logitsPositions: 5);
            return step.LastLogits;
        }
        var ours = Logits(model);
        var theirs = Logits(reference);
        Assert.Equal(5 * 1344, ours.Length);
        Assert.True(ours.Zip(theirs, (x, y) => Math.Abs(x - y)).Max() < 1e-4f);
    }

    private static void AssertAnswersGoldens(ChatModel model)
    {
        foreach (var name in new[] { "single_prompt_no_system", "multi_turn_make_it_blue", "single_off_topic" })
        {
            var c = ChatGoldens.Conversation(name);
            var golden = c.GetProperty("generated_ids").Ints();
            var got = Greedy(model, [c.GetProperty("prompt_ids").Ints()], golden.Length)[0];
            Assert.Equal(golden, got);
        }
    }

    private static IReadOnlyList<int>[] Greedy(ChatModel model, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNew)
    {
        var (ids, mask, _) = GenerationLoop.LeftPad(prompts, model.PadId);
        var samplers = prompts.Select(_ => new TokenSampler(SamplingOptions.GreedyDefault(maxNew), model.VocabSize)).ToArray();
        // The goldens stop at the bundled model's eos (1284); families with more eos ids stop there too.
        var settings = new GenerationSettings(samplers, new HashSet<int> { 1284 }, maxNew, model.PadId);
        using var output = GenerationLoop.Run(model.Runner, new GenerationInput(StepInput.OfIds(ids, prompts.Count), mask, prompts), settings,
            next => StepInput.OfIds(next, prompts.Count), null, CancellationToken.None);
        return output.Rows.Select(r => r.Ids).ToArray();
    }
}
