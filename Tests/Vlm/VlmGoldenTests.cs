using MultimodalHub.Inference.Engines.Vlm;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Vlm;

/// <summary>shapes-vlm goldens: features, expansion, greedy answers of every turn, KV reuse across turns, cache vs recomputation.</summary>
public sealed class VlmGoldenTests(VlmFixture f) : VlmGoldenCases(f), IClassFixture<VlmFixture>;

/// <summary>The same goldens with the decoder through IO binding (Inference:KvIoBinding): token for token the same answers.</summary>
public sealed class VlmGoldenKvIoBindingTests(VlmKvIoBindingFixture f) : VlmGoldenCases(f), IClassFixture<VlmKvIoBindingFixture>
{
    [Fact]
    public void The_decoder_runs_through_io_binding_with_the_cache_in_cpu_memory()
    {
        Assert.True(f.Model.Runner.KvIoBinding);
        Assert.False(f.Model.Runner.KvOnDevice);
    }
}

/// <summary>The golden cases, run by <see cref="VlmGoldenTests"/> and <see cref="VlmGoldenKvIoBindingTests"/>.</summary>
public abstract class VlmGoldenCases(VlmFixture f)
{
    public static TheoryData<string> Names => new()
    {
        "g1_red_circle_caption", "g2_two_shapes_caption", "g3_triangle_color", "g4_star_where", "g5_count_64px", "g6_multi_turn", "g7_non_square",
    };

    [Fact]
    public void Image_rule_and_sizes_come_from_config_and_sessions()
    {
        Assert.Equal(1285, f.Model.ImageTokenId);
        Assert.Equal(32, f.Model.ImageSeqLen);
        Assert.Equal(128, f.Model.HiddenSize);
        Assert.Equal(1286, f.Model.VocabSize);
        Assert.True(f.Model.Spec.TakesEmbeddings);
        Assert.Equal([1284, 1282], f.Model.Defaults.EosIds);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Image_features_from_golden_pixel_values_match(string name)
    {
        var c = f.Case(name);
        var pixels = NpyArray.Load(VlmFixture.File_(c.GetProperty("pixel_values").GetString()!)).Data;
        var ours = VlmEncode.ImageFeatures(f.Model, pixels);
        var golden = f.GoldenFeatures(c);
        Assert.Equal(golden.Length, ours.Length);
        var max = golden.Zip(ours, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(max < 1e-3, $"max |diff| {max}");
    }

    [Theory]
    [InlineData("g1_red_circle_caption")]
    [InlineData("g7_non_square")]
    public void Pixel_values_from_the_png_match(string name)
    {
        var c = f.Case(name);
        var image = ImageCodec.Decode(File.ReadAllBytes(VlmFixture.File_(c.GetProperty("image").GetString()!)), new ImageLimits());
        var ours = VlmPreprocess.PixelValues(f.Model, image);
        var golden = NpyArray.Load(VlmFixture.File_(c.GetProperty("pixel_values").GetString()!)).Data;
        Assert.Equal(golden.Length, ours.Length);
        var max = golden.Zip(ours, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(max < 1e-3, $"max |diff| {max}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Prompt_ids_and_expansion_match(string name)
    {
        foreach (var turn in f.Case(name).GetProperty("turns").EnumerateArray())
        {
            var ids = f.Model.Tokenizer.Encode(turn.GetProperty("prompt").GetString()!, addSpecialTokens: false);
            Assert.Equal(VlmFixture.Ints(turn.GetProperty("ids")), ids);
            var (expanded, positions) = VlmPrompt.Expand(ids, f.Model.ImageTokenId, f.Model.ImageSeqLen);
            Assert.Equal(VlmFixture.Ints(turn.GetProperty("expanded_ids")), expanded);
            Assert.Equal(VlmFixture.Ints(turn.GetProperty("image_token_positions")), positions);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Greedy_answers_match_every_turn(string name)
    {
        var c = f.Case(name);
        var features = f.GoldenFeatures(c);
        foreach (var turn in c.GetProperty("turns").EnumerateArray())
        {
            var (choice, timings, cached) = Answer(turn, features, null);
            Assert.Equal(VlmFixture.Ints(turn.GetProperty("generated_ids")), choice.Ids);
            Assert.Equal(turn.GetProperty("generated_text").GetString(), choice.Text);
            Assert.Equal(0, cached);
            Assert.Equal(turn.GetProperty("expanded_ids").GetArrayLength(), timings.PromptTokens);
        }
    }

    [Fact]
    public void Multi_turn_follow_up_reuses_the_conversation_cache_and_gives_the_same_answer()
    {
        var c = f.Case("g6_multi_turn");
        var features = f.GoldenFeatures(c);
        var turns = c.GetProperty("turns").EnumerateArray().ToArray();
        using var conversations = new ConversationCache(4);
        var (first, _, cached1) = Answer(turns[0], features, conversations);
        Assert.Equal(0, cached1);
        Assert.Equal(1, conversations.Count);
        var (second, timings, cached2) = Answer(turns[1], features, conversations);
        Assert.Equal(turns[1].GetProperty("generated_text").GetString(), second.Text);
        Assert.Equal(VlmFixture.Ints(turns[1].GetProperty("generated_ids")), second.Ids);
        // The kept cache covers turn 1's prompt and answer (its stopping eos was chosen, not fed).
        var expectedCached = turns[0].GetProperty("expanded_ids").GetArrayLength() + first.Ids.Count - 1;
        Assert.Equal(expectedCached, cached2);
        Assert.Equal(turns[1].GetProperty("expanded_ids").GetArrayLength(), timings.PromptTokens);

        // Asking the first question again reuses a truncated cache and still answers the same.
        var (again, _, cached3) = Answer(turns[0], features, conversations);
        Assert.Equal(turns[0].GetProperty("generated_text").GetString(), again.Text);
        Assert.Equal(turns[0].GetProperty("expanded_ids").GetArrayLength() - 1, cached3);
    }

    [Theory]
    [InlineData("g2_two_shapes_caption")]
    [InlineData("g4_star_where")]
    [InlineData("g6_multi_turn")]
    public void Cached_decoding_equals_recomputation_without_cache(string name)
    {
        var c = f.Case(name);
        var turn = c.GetProperty("turns").EnumerateArray().Last();
        var expanded = VlmFixture.Ints(turn.GetProperty("expanded_ids"));
        var positions = VlmFixture.Ints(turn.GetProperty("image_token_positions"));
        IReadOnlyList<int> Generate(bool useCache)
        {
            var embeds = VlmPrompt.Embeddings(f.Model, expanded, positions, [f.GoldenFeatures(c)]);
            var input = new GenerationInput(StepInput.OfEmbeds(embeds, 1, f.Model.HiddenSize), Enumerable.Repeat(1L, expanded.Length).ToArray(), [expanded]);
            var settings = new GenerationSettings([new TokenSampler(SamplingOptions.GreedyDefault(48), f.Model.VocabSize)], f.Model.EosIds, 48, f.Model.PadId, useCache);
            using var output = GenerationLoop.Run(f.Model.Runner, input, settings,
                t => StepInput.OfEmbeds(VlmEncode.EmbedBatch(f.Model, t), t.Length, f.Model.HiddenSize), null, CancellationToken.None);
            return output.Rows[0].Ids;
        }
        var cached = Generate(true);
        Assert.Equal(VlmFixture.Ints(turn.GetProperty("generated_ids")), cached);
        Assert.Equal(cached, Generate(false));
    }

    [Theory]
    [InlineData("g1_red_circle_caption")]
    [InlineData("g2_two_shapes_caption")]
    public void Beam_search_caption_agrees_with_the_confident_greedy_caption(string name)
    {
        var c = f.Case(name);
        var turn = c.GetProperty("turns")[0];
        var (choice, _, _) = Answer(turn, f.GoldenFeatures(c), null, new VlmDecoding(SamplingOptions.GreedyDefault(48), NumBeams: 3, LengthPenalty: 1.0));
        Assert.Equal(turn.GetProperty("generated_text").GetString(), choice.Text);
        Assert.Equal("stop", choice.FinishReason);
    }

    [Theory]
    [InlineData("g1_red_circle_caption", 3)]
    [InlineData("g2_two_shapes_caption", 4)]
    public void Beam_search_cut_at_max_length_is_a_length_finish_of_that_many_tokens(string name, int maxTokens)
    {
        var c = f.Case(name);
        var turn = c.GetProperty("turns")[0];
        var (choice, timings, _) = Answer(turn, f.GoldenFeatures(c), null, new VlmDecoding(SamplingOptions.GreedyDefault(maxTokens), NumBeams: 3, LengthPenalty: 1.0));
        Assert.Equal("length", choice.FinishReason);
        Assert.Equal(maxTokens, choice.Ids.Count);
        Assert.Equal(maxTokens, timings.GeneratedTokens);
        Assert.DoesNotContain(choice.Ids, f.Model.EosIds.Contains);
        // The confident golden caption's prefix is the best running beam.
        Assert.Equal(VlmFixture.Ints(turn.GetProperty("generated_ids")).Take(maxTokens), choice.Ids);
    }

    [Fact]
    public void Beam_top_indices_match_a_full_sort()
    {
        var random = new Random(5);
        var values = Enumerable.Range(0, 5000).Select(_ => random.NextDouble() * 20 - 10).ToArray();
        values[17] = double.NegativeInfinity;
        for (var k = 1; k <= 16; k *= 2)
        {
            var expected = Enumerable.Range(0, values.Length).Where(i => !double.IsNegativeInfinity(values[i])).OrderByDescending(i => values[i]).Take(k);
            Assert.Equal(expected, Ranking.Top<double>(values, k));
        }
        Assert.Equal([1, 2], Ranking.Top<double>([double.NegativeInfinity, 1.0, 0.5], 5));
    }

    private (GeneratedChoice Choice, LoopTimings Timings, int Cached) Answer(System.Text.Json.JsonElement turn, float[] features, ConversationCache? conversations,
        VlmDecoding? decoding = null)
    {
        var ids = VlmFixture.Ints(turn.GetProperty("ids"));
        var prompt = new VlmPromptIds(turn.GetProperty("prompt").GetString()!, ids, VlmFixture.Ints(turn.GetProperty("expanded_ids")),
            VlmFixture.Ints(turn.GetProperty("image_token_positions")));
        return VlmRun.Run(f.Model, prompt, [features], "image", decoding ?? new VlmDecoding(SamplingOptions.GreedyDefault(48)), conversations, _ => { }, CancellationToken.None);
    }
}
