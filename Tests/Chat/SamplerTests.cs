using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Tests.Chat;

/// <summary>Each logits processor on small hand-made logits.</summary>
public sealed class SamplerTests
{
    private static float[] Apply(ILogitsProcessor p, float[] logits, int[]? context = null, int[]? generated = null)
    {
        var row = (float[])logits.Clone();
        p.Process(row, context ?? [], generated ?? []);
        return row;
    }

    private static int[] Kept(float[] row) => Enumerable.Range(0, row.Length).Where(i => !float.IsNegativeInfinity(row[i])).ToArray();

    [Fact]
    public void Temperature_divides_logits()
    {
        Assert.Equal([1f, -2f, 0.5f], Apply(new Temperature(2), [2f, -4f, 1f]));
    }

    [Fact]
    public void Top_k_keeps_the_k_largest_and_ties_with_the_kth()
    {
        Assert.Equal([0, 2], Kept(Apply(new TopK(2), [3f, 1f, 2f, 0f])));
        Assert.Equal([0, 1, 2], Kept(Apply(new TopK(2), [3f, 2f, 2f, 0f])));
        Assert.Equal([0, 1, 2, 3], Kept(Apply(new TopK(0), [3f, 2f, 2f, 0f])));
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p()
    {
        // probabilities 0.5, 0.25, 0.125, 0.125
        var logits = new[] { MathF.Log(0.5f), MathF.Log(0.25f), MathF.Log(0.125f), MathF.Log(0.125f) };
        Assert.Equal([0], Kept(Apply(new TopP(0.5), logits)));
        Assert.Equal([0, 1], Kept(Apply(new TopP(0.7), logits)));
        Assert.Equal([0, 1, 2, 3], Kept(Apply(new TopP(0.9), logits)));
        Assert.Equal([0], Kept(Apply(new TopP(0.01), logits)));
    }

    [Fact]
    public void Min_p_drops_tokens_below_a_fraction_of_the_top_probability()
    {
        var logits = new[] { MathF.Log(0.6f), MathF.Log(0.3f), MathF.Log(0.1f) };
        Assert.Equal([0, 1], Kept(Apply(new MinP(0.2), logits)));   // threshold 0.12
        Assert.Equal([0, 1, 2], Kept(Apply(new MinP(0.1), logits))); // threshold 0.06
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_ids()
    {
        var row = Apply(new RepetitionPenalty(2), [4f, -4f, 4f, -1f], context: [0, 1, 1]);
        Assert.Equal([2f, -8f, 4f, -1f], row);
    }

    [Fact]
    public void Presence_and_frequency_penalties_use_generated_counts()
    {
        var row = Apply(new PresenceFrequencyPenalty(0.5, 0.25), [1f, 1f, 1f], context: [2], generated: [0, 0, 1]);
        Assert.Equal([1f - 0.5f - 0.5f, 1f - 0.5f - 0.25f, 1f], row);
    }

    [Fact]
    public void Vocab_mask_removes_ids_the_tokenizer_cannot_produce()
    {
        Assert.Equal([0, 1], Kept(Apply(new VocabMask(2), [0f, 1f, 9f, 9f])));
        var sampler = new TokenSampler(SamplingOptions.GreedyDefault(1), 2);
        Assert.Equal(1, sampler.Next([0f, 1f, 9f, 9f], [], []));
    }

    [Fact]
    public void Seeded_sampling_is_reproducible_and_follows_the_distribution()
    {
        var logits = new[] { 0f, MathF.Log(3f) }; // p = 0.25, 0.75
        var o = new SamplingOptions { Temperature = 1, Seed = 7 };
        int[] Draw(SamplingOptions opts) { var s = new TokenSampler(opts, 2); return Enumerable.Range(0, 400).Select(_ => s.Next(logits, [], [])).ToArray(); }
        var a = Draw(o);
        Assert.Equal(a, Draw(o));
        Assert.NotEqual(a, Draw(o with { Seed = 8 }));
        Assert.InRange(a.Count(x => x == 1) / 400.0, 0.65, 0.85);
    }

    [Fact]
    public void Defaults_come_from_generation_config_and_temperature_zero_is_greedy()
    {
        var d = new GenerationDefaults([9], 9, true, 0.7, 0.8, 20, 0, 1.05, null);
        var o = SamplingOptions.Resolve(d, new SamplingRequest(), 64);
        Assert.False(o.Greedy);
        Assert.Equal((0.7, 0.8, 20, 1.05, 64), (o.Temperature, o.TopP, o.TopK, o.RepetitionPenalty, o.MaxNewTokens));
        Assert.True(SamplingOptions.Resolve(d, new SamplingRequest(Temperature: 0), 64).Greedy);
        Assert.True(SamplingOptions.Resolve(d with { DoSample = false }, new SamplingRequest(), 64).Greedy);
    }

    [Fact]
    public void A_default_max_new_tokens_is_clamped_to_the_window_but_a_requested_one_is_checked()
    {
        var d = new GenerationDefaults([9], 9, true, 0.7, 0.8, 20, 0, 1.05, 4096);
        Assert.Equal(127, SamplingOptions.Resolve(d, new SamplingRequest(), 64, contextWindow: 128).MaxNewTokens);
        Assert.Equal(127, ChatSample.Resolve(d, new SamplingRequest(), 256, 128).MaxNewTokens);
        Assert.Equal(1, SamplingOptions.Resolve(d with { MaxNewTokens = 0 }, new SamplingRequest(), 64, contextWindow: 128).MaxNewTokens);
        var e = Assert.Throws<InvalidRequestException>(() => ChatSample.Resolve(d, new SamplingRequest(MaxNewTokens: 4096, MaxTokensField: "max_completion_tokens"), 256, 128));
        Assert.Equal("max_completion_tokens", e.Field);
    }

    [Theory]
    [InlineData(1e-7)]
    [InlineData(9e-6)]
    public void Tiny_temperatures_are_greedy(double temperature)
    {
        var d = new GenerationDefaults([9], 9, true, 0.7, 0.8, 20, 0, 1.05, null);
        var o = SamplingOptions.Resolve(d, new SamplingRequest(Temperature: temperature), 64);
        Assert.True(o.Greedy);
        var logits = new float[] { 0.5f, 3f, 1f, -2f };
        Assert.Equal(1, new TokenSampler(o, logits.Length).Next(logits, [], []));
    }

    [Theory]
    [InlineData(-0.1, null, null, "temperature")]
    [InlineData(double.NaN, null, null, "temperature")]
    [InlineData(null, 0.0, null, "top_p")]
    [InlineData(null, 1.5, null, "top_p")]
    [InlineData(null, null, 0, "max_tokens")]
    public void Bad_values_name_their_field(double? temperature, double? topP, int? maxTokens, string field)
    {
        var d = new GenerationDefaults([9], 9, true, 0.7, 0.8, 20, 0, 1.05, null);
        var e = Assert.Throws<InvalidRequestException>(() => SamplingOptions.Resolve(d, new SamplingRequest(temperature, topP, MaxNewTokens: maxTokens), 64));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void Stop_sequences_match_across_token_boundaries_and_hold_back_partial_matches()
    {
        var m = new StopSequenceMatcher(["</end>", "###"]);
        Assert.Equal("hello ", m.Push("hello <"));
        Assert.Equal("", m.Push("/en"));
        Assert.Equal("</ent", m.Push("t"));      // not a stop after all: released
        Assert.Equal(" ok", m.Push(" ok#"[..3]));
        Assert.Equal("", m.Push("#"));
        Assert.Equal("# done", m.Push(" done"));  // "#" alone was held back, then released
        Assert.Equal("", m.Push("##"));
        Assert.Equal("", m.Push("#tail"));
        Assert.True(m.Stopped);
        Assert.Equal("", m.Flush());

        var n = new StopSequenceMatcher(["\n\n"]);
        Assert.Equal("a", n.Push("a\n"));
        Assert.Equal("\n", n.Flush());
    }
}
