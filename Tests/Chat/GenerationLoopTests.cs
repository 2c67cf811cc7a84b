using MultimodalHub.Inference.Runtime.Generation;

namespace MultimodalHub.Tests.Chat;

/// <summary>The shared KV-cache loop on the real shapes-chat decoder, from the goldens' prompt ids.</summary>
public sealed class GenerationLoopTests(ChatModelFixture f) : IClassFixture<ChatModelFixture>
{
    [Fact]
    public void Spec_is_read_from_config_and_session()
    {
        Assert.Equal(DecoderSpec.InputIds, f.Spec.TokenInput);
        Assert.Equal(4, f.Spec.NumLayers);
        Assert.Equal(2, f.Spec.NumKvHeads);
        Assert.Equal(32, f.Spec.HeadDim);
        Assert.Equal(1344, f.Spec.LogitsWidth);
        Assert.Equal("past_key_values.0.key", f.Spec.PastNames[0]);
        Assert.Equal("present.3.value", f.Spec.PresentNames[^1]);
        Assert.Equal([1284, 1282], f.Defaults.EosIds);
        Assert.Equal(1285, f.TokenizerVocab);
    }

    [Theory]
    [MemberData(nameof(ChatGoldens.Names), MemberType = typeof(ChatGoldens))]
    public void Greedy_generation_matches_golden_ids(string name)
    {
        var c = f.Conversation(name);
        var prompt = ChatModelFixture.Ints(c.GetProperty("prompt_ids"));
        using var output = f.Greedy([prompt], 48);
        Assert.Equal(ChatModelFixture.Ints(c.GetProperty("generated_ids")), output.Rows[0].Ids);
        Assert.Equal("stop", output.Rows[0].FinishReason);
        Assert.True(output.Rows[0].EndedWithEos);
    }

    [Theory]
    [MemberData(nameof(ChatGoldens.Names), MemberType = typeof(ChatGoldens))]
    public void First_step_top20_logits_and_filtered_distribution_match(string name)
    {
        var c = f.Conversation(name);
        var prompt = ChatModelFixture.Ints(c.GetProperty("prompt_ids"));
        var (ids, mask, _) = GenerationLoop.LeftPad([prompt], 0);
        using var past = KvCache.Empty(f.Spec, 1);
        using var step = f.Runner.Run(StepInput.OfIds(ids, 1), mask, DecoderRunner.Positions(mask, 1, prompt.Length), past, CancellationToken.None);
        var row = step.Row(0).ToArray();
        var raw = c.GetProperty("first_step").GetProperty("top20_raw");
        var topIds = ChatModelFixture.Ints(raw.GetProperty("ids"));
        var topLogits = raw.GetProperty("logits").EnumerateArray().Select(x => x.GetSingle()).ToArray();
        var ours = Enumerable.Range(0, row.Length).OrderByDescending(i => row[i]).Take(20).ToArray();
        Assert.Equal(topIds, ours);
        for (var i = 0; i < 20; i++) Assert.InRange(row[topIds[i]] - topLogits[i], -1e-3f, 1e-3f);

        // generation_config.json defaults: repetition penalty → temperature → top-k → top-p.
        var options = SamplingOptions.Resolve(f.Defaults, new SamplingRequest(), 48);
        var sampler = new TokenSampler(options, f.TokenizerVocab);
        var dist = sampler.Distribution(row, prompt, []);
        var filtered = c.GetProperty("first_step").GetProperty("after_filters");
        var keptIds = ChatModelFixture.Ints(filtered.GetProperty("ids"));
        var keptProbs = filtered.GetProperty("probs").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(keptIds.Order(), Enumerable.Range(0, dist.Length).Where(i => dist[i] > 0).Order());
        for (var i = 0; i < keptIds.Length; i++) Assert.InRange(dist[keptIds[i]] - keptProbs[i], -1e-4, 1e-4);
    }

    [Fact]
    public void Cached_generation_equals_recomputation_without_cache()
    {
        var prompt = ChatModelFixture.Ints(f.Conversation("multi_turn_make_it_blue").GetProperty("prompt_ids"));
        using var cached = f.Greedy([prompt], 20);
        using var recomputed = f.Greedy([prompt], 20, useCache: false);
        Assert.Equal(cached.Rows[0].Ids, recomputed.Rows[0].Ids);
    }

    [Fact]
    public void Batch_of_two_with_left_padding_equals_each_alone()
    {
        var a = ChatModelFixture.Ints(f.Conversation("single_count").GetProperty("prompt_ids"));
        var b = ChatModelFixture.Ints(f.Conversation("multi_turn_make_it_blue").GetProperty("prompt_ids"));
        using var batch = f.Greedy([a, b], 48);
        using var aloneA = f.Greedy([a], 48);
        using var aloneB = f.Greedy([b], 48);
        Assert.Equal(aloneA.Rows[0].Ids, batch.Rows[0].Ids);
        Assert.Equal(aloneB.Rows[0].Ids, batch.Rows[1].Ids);
    }

    [Fact]
    public void Max_new_tokens_limits_and_reports_length()
    {
        var prompt = ChatModelFixture.Ints(f.Conversation("single_prompt_no_system").GetProperty("prompt_ids"));
        using var output = f.Greedy([prompt], 3);
        Assert.Equal(3, output.Rows[0].Ids.Count);
        Assert.Equal("length", output.Rows[0].FinishReason);
    }

    [Fact]
    public void Cancellation_stops_the_loop()
    {
        var prompt = ChatModelFixture.Ints(f.Conversation("single_prompt_no_system").GetProperty("prompt_ids"));
        using var cts = new CancellationTokenSource();
        var (ids, mask, _) = GenerationLoop.LeftPad([prompt], 0);
        var settings = new GenerationSettings([new TokenSampler(SamplingOptions.GreedyDefault(48), f.TokenizerVocab)], f.Defaults.EosIds.ToHashSet(), 48, 0);
        var steps = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => GenerationLoop.Run(f.Runner, new GenerationInput(StepInput.OfIds(ids, 1), mask, [prompt]), settings,
            next => StepInput.OfIds(next, 1), (_, _) => { if (++steps == 2) cts.Cancel(); return false; }, cts.Token));
        Assert.Equal(2, steps);
    }

    [Fact]
    public void Seeded_sampling_is_reproducible_and_temperature_zero_is_greedy()
    {
        var prompt = ChatModelFixture.Ints(f.Conversation("single_count").GetProperty("prompt_ids"));
        IReadOnlyList<int> Sample(SamplingRequest r)
        {
            var (ids, mask, _) = GenerationLoop.LeftPad([prompt], 0);
            var o = SamplingOptions.Resolve(f.Defaults, r, 24);
            var settings = new GenerationSettings([new TokenSampler(o, f.TokenizerVocab)], f.Defaults.EosIds.ToHashSet(), o.MaxNewTokens, 0);
            using var output = GenerationLoop.Run(f.Runner, new GenerationInput(StepInput.OfIds(ids, 1), mask, [prompt]), settings,
                next => StepInput.OfIds(next, 1), null, CancellationToken.None);
            return output.Rows[0].Ids;
        }
        var hot = new SamplingRequest(Temperature: 3, TopP: 1, TopK: 0, Seed: 42);
        Assert.Equal(Sample(hot), Sample(hot));
        Assert.NotEqual(Sample(hot), Sample(hot with { Seed = 43 }));
        Assert.Equal(ChatModelFixture.Ints(f.Conversation("single_count").GetProperty("generated_ids")), Sample(new SamplingRequest(Temperature: 0, RepetitionPenalty: 1)));
    }
}
