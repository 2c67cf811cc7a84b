using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;
using OpenAI.Chat;

namespace MultimodalHub.Tests.Chat;

/// <summary>
/// logprobs / top_logprobs on /v1/chat/completions and /v1/completions (echo included), streamed and not, in OpenAI's
/// shapes, checked against a log-softmax of the real shapes-chat logits computed here from a bare session run.
/// </summary>
public sealed class LogprobsTests(InferenceFixture fixture, ChatModelFixture model) : IClassFixture<InferenceFixture>, IClassFixture<ChatModelFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>log-softmax over the tokenizer's ids at every position of one full pass over <paramref name="ids"/> (no cache), [position][id].</summary>
    private double[][] ReferenceLogSoftmax(IReadOnlyList<int> ids)
    {
        var session = model.Session;
        var n = ids.Count;
        var inputs = new Dictionary<string, OrtValue>
        {
            ["input_ids"] = OrtValue.CreateTensorValueFromMemory(ids.Select(i => (long)i).ToArray(), [1, n]),
            ["attention_mask"] = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, n).ToArray(), [1, n]),
            ["position_ids"] = OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, n).Select(i => (long)i).ToArray(), [1, n]),
        };
        foreach (var (name, meta) in session.InputMetadata.Where(p => p.Key.StartsWith("past_key_values.", StringComparison.Ordinal)))
            inputs[name] = OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, meta.Dimensions[1], 0, meta.Dimensions[3]]);
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputs.Keys.ToArray(), inputs.Values.ToArray(), ["logits"]);
            var shape = outputs[0].GetTensorTypeAndShape().Shape;
            var width = (int)shape[2];
            var all = outputs[0].GetTensorDataAsSpan<float>();
            var vocab = model.TokenizerVocab;
            var result = new double[n][];
            for (var p = 0; p < n; p++)
            {
                var row = all.Slice(p * width, vocab);
                var max = double.NegativeInfinity;
                foreach (var l in row) max = Math.Max(max, l);
                var sum = 0.0;
                foreach (var l in row) sum += Math.Exp(l - max);
                var lse = max + Math.Log(sum);
                result[p] = new double[vocab];
                for (var i = 0; i < vocab; i++) result[p][i] = row[i] - lse;
            }
            return result;
        }
        finally
        {
            foreach (var v in inputs.Values) v.Dispose();
        }
    }

    private static JsonArray Messages(JsonElement c) => JsonNode.Parse(c.GetProperty("messages").GetRawText())!.AsArray();

    private static string Text(JsonElement bytes) => Encoding.UTF8.GetString(bytes.EnumerateArray().Select(b => (byte)b.GetInt32()).ToArray());

    [Theory]
    [InlineData("single_prompt_no_system")]
    [InlineData("single_count")]
    public async Task Chat_logprobs_are_the_log_softmax_of_the_models_logits(string name)
    {
        var c = ChatGoldens.Conversation(name);
        var promptIds = c.GetProperty("prompt_ids").Ints();
        var generated = c.GetProperty("generated_ids").Ints();
        using var client = fixture.Factory.CreateClient();
        var json = await ApiAsserts.PostJson(client, "/v1/chat/completions", new JsonObject
        {
            ["model"] = "shapes-chat",
            ["messages"] = Messages(c),
            ["temperature"] = 0,
            ["logprobs"] = true,
            ["top_logprobs"] = 20,
        });
        var choice = json.GetProperty("choices")[0];
        var content = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToList();
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").GetProperty("refusal").ValueKind);
        // One entry per answer token; the final eos is not part of the answer.
        Assert.Equal(generated.Length - 1, content.Count);
        Assert.Equal(c.GetProperty("generated_text").GetString(), string.Concat(content.Select(e => e.GetProperty("token").GetString())));
        Assert.Equal(c.GetProperty("generated_text").GetString(), string.Concat(content.Select(e => Text(e.GetProperty("bytes")))));

        var reference = ReferenceLogSoftmax([.. promptIds, .. generated]);
        for (var i = 0; i < content.Count; i++)
        {
            var expected = reference[promptIds.Length - 1 + i];
            var entry = content[i];
            Assert.Equal(expected[generated[i]], entry.GetProperty("logprob").GetDouble(), 1e-4);
            var top = entry.GetProperty("top_logprobs").EnumerateArray().ToList();
            Assert.Equal(20, top.Count);
            var order = Enumerable.Range(0, expected.Length).OrderByDescending(j => expected[j]).Take(20).ToArray();
            for (var k = 0; k < 20; k++)
            {
                Assert.Equal(expected[order[k]], top[k].GetProperty("logprob").GetDouble(), 1e-4);
                Assert.Equal(top[k].GetProperty("token").GetString(), Text(top[k].GetProperty("bytes")));
            }
            // Greedy: the chosen token is the most likely one.
            Assert.Equal(entry.GetProperty("token").GetString(), top[0].GetProperty("token").GetString());
            Assert.True(top.Sum(t => Math.Exp(t.GetProperty("logprob").GetDouble())) <= 1 + 1e-6);
        }

        // The goldens' first-step logits (made with the Python reference stack): same ids in the same order, logprob differences = logit differences.
        var raw = c.GetProperty("first_step").GetProperty("top20_raw");
        var goldenLogits = raw.GetProperty("logits").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var firstTop = content[0].GetProperty("top_logprobs").EnumerateArray().ToList();
        var tokenizer = MultimodalHub.Inference.Text.TokenizerLoader.Load(Repo.Model("shapes-chat"));
        var goldenTokens = raw.GetProperty("ids").Ints().Select(id => tokenizer.Decode([id], skipSpecialTokens: false)).ToArray();
        Assert.Equal(goldenTokens, firstTop.Select(t => t.GetProperty("token").GetString()));
        for (var k = 1; k < 20; k++)
            Assert.Equal(goldenLogits[k] - goldenLogits[0], firstTop[k].GetProperty("logprob").GetDouble() - firstTop[0].GetProperty("logprob").GetDouble(), 1e-3);
    }

    [Fact]
    public async Task Without_logprobs_choices_carry_logprobs_null_as_openai_does()
    {
        using var client = fixture.Factory.CreateClient();
        var json = await ApiAsserts.PostJson(client, "/v1/chat/completions", new JsonObject { ["messages"] = Messages(ChatGoldens.Conversation("single_count")), ["temperature"] = 0 });
        Assert.Equal(JsonValueKind.Null, json.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        var raw = await ApiAsserts.PostJson(client, "/v1/completions", new { prompt = "one, two,", temperature = 0, max_tokens = 4 });
        Assert.Equal(JsonValueKind.Null, raw.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
    }

    [Fact]
    public async Task Streamed_chat_logprobs_equal_the_plain_answers_and_sampling_reports_the_drawn_tokens()
    {
        using var client = fixture.Factory.CreateClient();
        var body = new JsonObject
        {
            ["messages"] = Messages(ChatGoldens.Conversation("multi_turn_make_it_blue")),
            ["temperature"] = 1.2,
            ["seed"] = 7,
            ["max_tokens"] = 24,
            ["logprobs"] = true,
            ["top_logprobs"] = 2,
        };
        var plain = await ApiAsserts.PostJson(client, "/v1/chat/completions", body.DeepClone());
        var plainContent = plain.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content").EnumerateArray().ToList();
        Assert.Equal(plain.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), plainContent.Count + (plain.GetProperty("choices")[0].GetProperty("finish_reason").GetString() == "stop" ? 1 : 0));
        Assert.Equal(plain.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            string.Concat(plainContent.Select(e => e.GetProperty("token").GetString())));

        body["stream"] = true;
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", body, Ct);
        var chunks = await ApiAsserts.ReadSse(response);
        var streamed = chunks.SelectMany(ch => ch.GetProperty("choices").EnumerateArray())
            .Where(ch => ch.GetProperty("logprobs").ValueKind == JsonValueKind.Object)
            .SelectMany(ch => ch.GetProperty("logprobs").GetProperty("content").EnumerateArray()).ToList();
        Assert.Equal(plainContent.Select(e => e.GetRawText()), streamed.Select(e => e.GetRawText()));
        // Every chunk that carries text carries the logprobs of the tokens it came from.
        Assert.All(chunks.SelectMany(ch => ch.GetProperty("choices").EnumerateArray()).Where(ch => ch.GetProperty("delta").TryGetProperty("content", out var t) && t.GetString()!.Length > 0),
            ch => Assert.Equal(ch.GetProperty("delta").GetProperty("content").GetString(),
                string.Concat(ch.GetProperty("logprobs").GetProperty("content").EnumerateArray().Select(e => e.GetProperty("token").GetString()))));
    }

    [Fact]
    public async Task Official_openai_client_reads_logprobs_plain_and_streamed()
    {
        using var http = fixture.Factory.CreateClient();
        var client = ApiAsserts.OpenAiClient(http).GetChatClient("shapes-chat");
        var c = ChatGoldens.Conversation("single_prompt_no_system");
        var prompt = Messages(c)[0]!["content"]!.GetValue<string>();
        var options = new ChatCompletionOptions { Temperature = 0, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage(prompt)], options, Ct);
        var entries = completion.ContentTokenLogProbabilities;
        Assert.Equal(c.GetProperty("generated_ids").GetArrayLength() - 1, entries.Count);
        Assert.Equal(completion.Content[0].Text, string.Concat(entries.Select(e => e.Token)));
        Assert.Equal(completion.Content[0].Text, Encoding.UTF8.GetString(entries.SelectMany(e => e.Utf8Bytes!.Value.ToArray()).ToArray()));
        Assert.All(entries, e =>
        {
            Assert.Equal(3, e.TopLogProbabilities.Count);
            Assert.Equal(e.Token, e.TopLogProbabilities[0].Token);
            Assert.Equal(e.LogProbability, e.TopLogProbabilities[0].LogProbability);
            Assert.True(e.LogProbability <= 0);
        });

        var streamed = new List<ChatTokenLogProbabilityDetails>();
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(prompt)], options, Ct))
            streamed.AddRange(update.ContentTokenLogProbabilities);
        Assert.Equal(entries.Select(e => (e.Token, e.LogProbability)), streamed.Select(e => (e.Token, e.LogProbability)));
    }

    [Fact]
    public async Task Completions_echo_scores_the_prompt_and_continues_with_the_generated_tokens()
    {
        var c = ChatGoldens.Conversation("single_count");
        var prompt = c.GetProperty("prompt").GetString()!;
        var promptIds = c.GetProperty("prompt_ids").Ints();
        var generated = c.GetProperty("generated_ids").Ints();
        var reference = ReferenceLogSoftmax([.. promptIds, .. generated]);
        using var client = fixture.Factory.CreateClient();

        // max_tokens 0 with echo: only the prompt, scored.
        var scored = await ApiAsserts.PostJson(client, "/v1/completions", new { prompt, echo = true, logprobs = 3, max_tokens = 0 });
        var choice = scored.GetProperty("choices")[0];
        Assert.Equal(prompt, choice.GetProperty("text").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(0, scored.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var lp = choice.GetProperty("logprobs");
        var tokens = lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToList();
        var logprobs = lp.GetProperty("token_logprobs").EnumerateArray().ToList();
        var tops = lp.GetProperty("top_logprobs").EnumerateArray().ToList();
        var offsets = lp.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()).ToList();
        Assert.Equal(promptIds.Length, tokens.Count);
        Assert.Equal(prompt, string.Concat(tokens));
        Assert.Equal(JsonValueKind.Null, logprobs[0].ValueKind);
        Assert.Equal(JsonValueKind.Null, tops[0].ValueKind);
        for (var i = 1; i < tokens.Count; i++)
        {
            Assert.Equal(reference[i - 1][promptIds[i]], logprobs[i].GetDouble(), 1e-4);
            Assert.Equal(3, tops[i].EnumerateObject().Count());
            Assert.Equal(reference[i - 1].Max(), tops[i].EnumerateObject().Max(p => p.Value.GetDouble()), 4);
        }
        for (var i = 0; i < tokens.Count; i++) Assert.Equal(tokens[i], prompt.Substring(offsets[i], tokens[i].Length));

        // Generating too: prompt entries, then one per generated token (not the eos), offsets running on through the completion.
        var both = await ApiAsserts.PostJson(client, "/v1/completions", new { prompt, echo = true, logprobs = 1, max_tokens = 48, temperature = 0 });
        var bothChoice = both.GetProperty("choices")[0];
        var text = bothChoice.GetProperty("text").GetString()!;
        Assert.Equal(prompt + c.GetProperty("generated_text").GetString(), text);
        var bothLp = bothChoice.GetProperty("logprobs");
        var bothTokens = bothLp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToList();
        Assert.Equal(promptIds.Length + generated.Length - 1, bothTokens.Count);
        Assert.Equal(text, string.Concat(bothTokens));
        var bothOffsets = bothLp.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()).ToList();
        for (var i = 0; i < bothTokens.Count; i++) Assert.Equal(bothTokens[i], text.Substring(bothOffsets[i], bothTokens[i].Length));
        var bothLogprobs = bothLp.GetProperty("token_logprobs").EnumerateArray().ToList();
        for (var i = 1; i < bothTokens.Count; i++)
            Assert.Equal(reference[i - 1][i < promptIds.Length ? promptIds[i] : generated[i - promptIds.Length]], bothLogprobs[i].GetDouble(), 1e-4);

        // Streamed: the echo chunk first, then the completion's chunks; the lists concatenate to the plain answer's.
        using var response = await client.PostAsJsonAsync("/v1/completions", new { prompt, echo = true, logprobs = 1, max_tokens = 48, temperature = 0, stream = true }, Ct);
        var chunks = await ApiAsserts.ReadSse(response);
        var choices = chunks.SelectMany(ch => ch.GetProperty("choices").EnumerateArray()).ToList();
        Assert.Equal(prompt, choices[0].GetProperty("text").GetString());
        Assert.Equal(text, string.Concat(choices.Select(ch => ch.GetProperty("text").GetString())));
        var withLogprobs = choices.Where(ch => ch.GetProperty("logprobs").ValueKind == JsonValueKind.Object).Select(ch => ch.GetProperty("logprobs")).ToList();
        Assert.Equal(bothTokens, withLogprobs.SelectMany(l => l.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!)));
        Assert.Equal(bothOffsets, withLogprobs.SelectMany(l => l.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32())));
        Assert.Equal(bothLp.GetProperty("token_logprobs").GetRawText(),
            new JsonArray([.. withLogprobs.SelectMany(l => l.GetProperty("token_logprobs").EnumerateArray()).Select(e => JsonNode.Parse(e.GetRawText()))]).ToJsonString());
    }

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}""", "top_logprobs" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"top_logprobs":2}""", "top_logprobs" },
        { "/v1/completions", """{"prompt":"one, two","logprobs":6}""", "logprobs" },
        { "/v1/completions", """{"prompt":"one, two","max_tokens":0}""", "max_tokens" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_logprob_requests_are_problem_details_naming_the_field(string url, string body, string field)
    {
        using var client = fixture.Factory.CreateClient();
        using var response = await client.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await ApiAsserts.AssertProblem(response, System.Net.HttpStatusCode.BadRequest, field);
    }
}
