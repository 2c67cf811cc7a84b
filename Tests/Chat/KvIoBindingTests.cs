using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Chat;

/// <summary>
/// The decoder through IO binding (Inference:KvIoBinding) on the real shapes-chat session: present.* bound to the
/// session's own memory (the CPU allocator here) and fed back as past_key_values.*; answers token for token those of plain session.Run.
/// </summary>
public sealed class KvIoBindingTests(ChatModelFixture f) : IClassFixture<ChatModelFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void The_setting_is_unset_by_default_and_can_be_set_per_model()
    {
        var options = new InferenceOptions();
        Assert.Null(options.KvIoBindingFor("shapes-chat"));
        options.Models["Shapes-Chat"] = new ModelRuntimeOptions { KvIoBinding = false };
        Assert.False(options.KvIoBindingFor("shapes-chat"));
        Assert.Null(options.KvIoBindingFor("shapes-vlm"));
        options.KvIoBinding = true;
        Assert.True(options.KvIoBindingFor("shapes-vlm"));
        Assert.False(options.KvIoBindingFor("shapes-chat"));
    }

    [Theory]
    [InlineData(null, false)] // unset: the CPU session keeps present.* in CPU memory, so plain session.Run
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void A_loaded_chat_model_binds_its_cache_when_set_or_when_the_cache_lives_outside_cpu_memory(bool? setting, bool bound)
    {
        var sessions = new OrtSessionFactory(Options.Create(new InferenceOptions { IntraOpThreads = 1, UseCuda = false, WarmUp = false, KvIoBinding = setting }),
            NullLogger<OrtSessionFactory>.Instance);
        using var model = new ChatModel(ModelRegistry.Describe(Repo.Model("shapes-chat")), sessions);
        Assert.False(DecoderRunner.CacheOutsideCpu(model.Session, model.Spec));
        Assert.Equal(bound, model.Runner.KvIoBinding);
    }

    [Fact]
    public void On_the_cpu_the_bound_cache_is_in_cpu_memory()
    {
        Assert.True(f.BoundRunner.KvIoBinding);
        Assert.False(f.BoundRunner.KvOnDevice);
        Assert.Same(f.BoundRunner, f.BoundRunner.HostCache);
        Assert.False(f.Runner.KvIoBinding);
        var prompt = ChatModelFixture.Ints(f.Conversation("single_count").GetProperty("prompt_ids"));
        using var output = f.Greedy([prompt], 4, ioBinding: true, keepCache: true);
        var cache = output.Cache!;
        Assert.True(cache.OnHost);
        Assert.Equal(prompt.Length + 3, cache.Length);
        Assert.Equal([1, f.Spec.NumKvHeads, prompt.Length + 3, f.Spec.HeadDim], cache.Values[0].GetTensorTypeAndShape().Shape);
    }

    [Theory]
    [MemberData(nameof(ChatGoldens.Names), MemberType = typeof(ChatGoldens))]
    public void Greedy_generation_through_io_binding_matches_golden_ids(string name)
    {
        var c = f.Conversation(name);
        var prompt = ChatModelFixture.Ints(c.GetProperty("prompt_ids"));
        using var output = f.Greedy([prompt], 48, ioBinding: true);
        Assert.Equal(ChatModelFixture.Ints(c.GetProperty("generated_ids")), output.Rows[0].Ids);
        Assert.True(output.Rows[0].EndedWithEos);
    }

    [Fact]
    public void Bound_and_plain_steps_give_the_same_logits_and_cache()
    {
        var prompt = ChatModelFixture.Ints(f.Conversation("multi_turn_with_system").GetProperty("prompt_ids")).Select(i => (long)i).ToArray();
        var mask = Enumerable.Repeat(1L, prompt.Length).ToArray();
        using var empty = KvCache.Empty(f.Spec, 1);
        using var plain = f.Runner.Run(StepInput.OfIds(prompt, 1), mask, DecoderRunner.Positions(mask, 1, prompt.Length), empty, Ct, logitsPositions: 3);
        using var bound = f.BoundRunner.Run(StepInput.OfIds(prompt, 1), mask, DecoderRunner.Positions(mask, 1, prompt.Length), empty, Ct, logitsPositions: 3);
        Assert.Equal(plain.LastLogits, bound.LastLogits);
        Assert.Equal(plain.Cache.Length, bound.Cache.Length);
        for (var i = 0; i < f.Spec.PastNames.Count; i++)
            Assert.Equal(plain.Cache.Values[i].GetTensorDataAsSpan<float>().ToArray(), bound.Cache.Values[i].GetTensorDataAsSpan<float>().ToArray());

        // One more step each, feeding its own cache back.
        var grown = GenerationLoop.Grow(mask, 1);
        using var plainNext = f.Runner.Run(StepInput.OfIds([451], 1), grown, [prompt.Length], plain.Cache, Ct);
        using var boundNext = f.BoundRunner.Run(StepInput.OfIds([451], 1), grown, [prompt.Length], bound.Cache, Ct);
        Assert.Equal(plainNext.LastLogits, boundNext.LastLogits);
    }

    [Fact]
    public void Left_padded_batch_through_io_binding_equals_the_plain_batch()
    {
        var a = ChatModelFixture.Ints(f.Conversation("single_count").GetProperty("prompt_ids"));
        var b = ChatModelFixture.Ints(f.Conversation("multi_turn_make_it_blue").GetProperty("prompt_ids"));
        using var bound = f.Greedy([a, b], 48, ioBinding: true);
        using var plain = f.Greedy([a, b], 48);
        Assert.Equal(plain.Rows[0].Ids, bound.Rows[0].Ids);
        Assert.Equal(plain.Rows[1].Ids, bound.Rows[1].Ids);
    }

    [Theory]
    [InlineData("single_mix_with_system")]
    [InlineData("multi_turn_make_it_blue")]
    public void Speculative_decoding_cuts_the_bound_cache_back_and_gives_the_golden_ids(string name)
    {
        var c = f.Conversation(name);
        var prompt = ChatModelFixture.Ints(c.GetProperty("prompt_ids"));
        var golden = ChatModelFixture.Ints(c.GetProperty("generated_ids"));
        // A draft that is wrong after its first id: every round rejects, so the target's cache is cut back each time.
        foreach (IDraftSource drafts in new IDraftSource[] { new PromptLookupDraft(), new DraftModelSource(f.BoundRunner, f.TokenizerVocab), new WrongAfterFirst(golden) })
        {
            using var d = drafts;
            var sampler = new TokenSampler(SamplingOptions.GreedyDefault(48), f.TokenizerVocab);
            var (output, stats) = SpeculativeLoop.Run(f.BoundRunner.HostCache, prompt, sampler, f.Defaults.EosIds.ToHashSet(), 48, d, 4, null, Ct);
            Assert.Equal(golden, output.Rows[0].Ids);
            if (d is WrongAfterFirst) Assert.True(stats.Accepted < stats.Drafted);
        }
    }

    /// <summary>Proposes the right next id followed by wrong ones (so each round accepts one and rejects the rest).</summary>
    private sealed class WrongAfterFirst(int[] golden) : IDraftSource
    {
        private int _promptLength = -1;

        public IReadOnlyList<int> Propose(IReadOnlyList<int> sequence, int max, CancellationToken ct)
        {
            if (_promptLength < 0) _promptLength = sequence.Count;
            var at = sequence.Count - _promptLength;
            if (max <= 0 || at >= golden.Length) return [];
            var draft = new List<int> { golden[at] };
            while (draft.Count < max) draft.Add(7);
            return draft;
        }

        public void Dispose()
        {
        }
    }
}
