using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Chat;

/// <summary>
/// Speculative decoding (prompt lookup and draft models) on the real shapes-chat decoder: the same answers as plain
/// decoding, greedy and seeded, with logprobs and response_format; draft tokens proposed and accepted in the timings.
/// </summary>
public sealed class SpeculativeDecodingTests(ChatModelFixture model, InferenceFixture host) : IClassFixture<ChatModelFixture>, IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A copy-heavy raw prompt: the model continues a list it has seen.</summary>
    private const string CopyPrompt = "<|im_start|>user\ncount from one to ten<|im_end|>\n<|im_start|>assistant\none, two, three, four, five, six, seven, eight, nine, ten<|im_end|>\n<|im_start|>user\ncount from one to ten<|im_end|>\n<|im_start|>assistant\n";

    [Fact]
    public void Prompt_lookup_drafts_what_followed_the_first_earlier_occurrence_of_the_last_ngram()
    {
        var lookup = new PromptLookupDraft(maxNgram: 3);
        Assert.Equal([4, 5, 6], lookup.Propose([1, 2, 3, 4, 5, 6, 7, 1, 2, 3], 3, Ct));
        Assert.Equal([4, 5], lookup.Propose([9, 2, 3, 4, 5, 2, 3], 2, Ct)); // the 2-gram (2, 3) first occurs at 1
        Assert.Equal([8, 1, 7], lookup.Propose([7, 8, 1, 7], 4, Ct)); // only the 1-gram (7) matches; the draft runs to the end of the sequence
        Assert.Empty(lookup.Propose([1, 2, 3], 4, Ct));
        Assert.Empty(lookup.Propose([1, 2, 1, 2], 0, Ct));
    }

    [Theory]
    [MemberData(nameof(ChatGoldens.Names), MemberType = typeof(ChatGoldens))]
    public void Greedy_speculation_gives_the_golden_ids(string name)
    {
        var c = ChatGoldens.Conversation(name);
        var prompt = c.GetProperty("prompt_ids").Ints();
        var golden = c.GetProperty("generated_ids").Ints();
        foreach (IDraftSource drafts in new IDraftSource[] { new PromptLookupDraft(), new DraftModelSource(model.Runner, model.TokenizerVocab) })
        {
            using var d = drafts;
            var sampler = new TokenSampler(SamplingOptions.GreedyDefault(48), model.TokenizerVocab);
            var (output, stats) = SpeculativeLoop.Run(model.Runner, prompt, sampler, model.Defaults.EosIds.ToHashSet(), 48, d, 4, null, Ct);
            Assert.Equal(golden, output.Rows[0].Ids);
            Assert.Equal("stop", output.Rows[0].FinishReason);
            if (d is DraftModelSource) Assert.Equal(stats.Drafted, stats.Accepted); // the same model drafts: every draft token is accepted
            Assert.True(stats.Rounds <= golden.Length);
        }
    }

    private async Task<JsonElement> Complete(HttpClient client, JsonObject extra)
    {
        var body = new JsonObject { ["model"] = "shapes-chat", ["prompt"] = CopyPrompt, ["max_tokens"] = 40, ["temperature"] = 0 };
        foreach (var (k, v) in extra) body[k] = v?.DeepClone();
        return await ApiAsserts.PostJson(client, "/v1/completions", body);
    }

    public static TheoryData<string> Speculations => new()
    {
        """{"prompt_lookup_num_tokens":4}""",
        """{"prompt_lookup_num_tokens":10}""",
        """{"draft_model":"shapes-chat"}""",
        """{"draft_model":"shapes-chat","num_speculative_tokens":2}""",
    };

    [Theory]
    [MemberData(nameof(Speculations))]
    public async Task Answers_equal_plain_decoding_greedy_seeded_with_logprobs_and_json(string speculation)
    {
        using var client = host.Factory.CreateClient();
        var extra = JsonNode.Parse(speculation)!.AsObject();
        foreach (var variant in new[]
        {
            new JsonObject { ["ignore_eos"] = true },
            new JsonObject { ["temperature"] = 1.0, ["seed"] = 3 },
            new JsonObject { ["logprobs"] = 2 },
        })
        {
            var plain = await Complete(client, variant);
            var merged = variant.DeepClone().AsObject();
            foreach (var (k, v) in extra) merged[k] = v?.DeepClone();
            var fast = await Complete(client, merged);
            Assert.Equal(plain.GetProperty("choices")[0].GetProperty("text").GetString(), fast.GetProperty("choices")[0].GetProperty("text").GetString());
            Assert.Equal(plain.GetProperty("usage").GetRawText(), fast.GetProperty("usage").GetRawText());
            var timings = fast.GetProperty("timings");
            var drafted = timings.GetProperty("draft_tokens").GetInt32();
            var accepted = timings.GetProperty("accepted_draft_tokens").GetInt32();
            Assert.InRange(accepted, 0, drafted);
            if (speculation.Contains("draft_model", StringComparison.Ordinal)) Assert.Equal(drafted, accepted); // the model drafts for itself
            if (variant.ContainsKey("logprobs"))
            {
                var a = plain.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("token_logprobs").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                var b = fast.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("token_logprobs").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                Assert.Equal(a.Length, b.Length);
                for (var i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-4);
            }
        }
        // The copy-heavy prompt is what prompt lookup is for: most of its draft tokens are accepted.
        var copy = await Complete(client, new JsonObject { ["prompt_lookup_num_tokens"] = 10 });
        Assert.True(copy.GetProperty("timings").GetProperty("accepted_draft_tokens").GetInt32() > 0);

        // Chat with a response_format: the same JSON.
        var format = new JsonObject { ["type"] = "json_object" };
        JsonObject Chat() => new() { ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = "count from one to ten" } }, ["response_format"] = format.DeepClone(), ["temperature"] = 0, ["max_tokens"] = 60 };
        var plainJson = await ApiAsserts.PostJson(client, "/v1/chat/completions", Chat());
        var fastBody = Chat();
        foreach (var (k, v) in extra) fastBody[k] = v?.DeepClone();
        var fastJson = await ApiAsserts.PostJson(client, "/v1/chat/completions", fastBody);
        Assert.Equal(plainJson.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            fastJson.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Streamed_speculative_answers_equal_the_plain_ones()
    {
        using var client = host.Factory.CreateClient();
        var body = new JsonObject { ["prompt"] = CopyPrompt, ["max_tokens"] = 40, ["temperature"] = 0, ["ignore_eos"] = true, ["prompt_lookup_num_tokens"] = 6, ["stream"] = true };
        using var response = await client.PostAsJsonAsync("/v1/completions", body, Ct);
        var chunks = await ApiAsserts.ReadSse(response);
        var streamed = string.Concat(chunks.SelectMany(ch => ch.GetProperty("choices").EnumerateArray()).Select(ch => ch.GetProperty("text").GetString()));
        var plain = await Complete(client, new JsonObject { ["ignore_eos"] = true });
        Assert.Equal(plain.GetProperty("choices")[0].GetProperty("text").GetString(), streamed);
    }

    public static TheoryData<string, string, HttpStatusCode> BadRequests => new()
    {
        { """{"prompt":"one","prompt_lookup_num_tokens":65}""", "prompt_lookup_num_tokens", HttpStatusCode.BadRequest },
        { """{"prompt":"one","draft_model":"shapes-chat","num_speculative_tokens":0}""", "num_speculative_tokens", HttpStatusCode.BadRequest },
        { """{"prompt":"one","draft_model":"shapes-chat","prompt_lookup_num_tokens":3}""", "draft_model", HttpStatusCode.BadRequest },
        { """{"prompt":"one","draft_model":"no-such-model"}""", "draft_model", HttpStatusCode.NotFound },
        { """{"prompt":"one","draft_model":"shapes-vlm"}""", "draft_model", HttpStatusCode.BadRequest },
        { """{"prompt":"one","prompt_lookup_num_tokens":3,"n":2}""", "prompt_lookup_num_tokens", HttpStatusCode.BadRequest },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_speculation_requests_name_the_field(string body, string field, HttpStatusCode status)
    {
        using var client = host.Factory.CreateClient();
        using var response = await client.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await ApiAsserts.AssertProblem(response, status, field);
    }
}
