using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Inference.Engines.Chat;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;
using OpenAI.Chat;
using HubMessage = MultimodalHub.Inference.Text.ChatMessage;

namespace MultimodalHub.Tests.Chat;

/// <summary>The chat engine and the OpenAI-compatible API on the real host and the bundled shapes-chat model.</summary>
public sealed class ChatApiTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonArray Messages(JsonElement c) => JsonNode.Parse(c.GetProperty("messages").GetRawText())!.AsArray();

    [Theory]
    [MemberData(nameof(ChatGoldens.Names), MemberType = typeof(ChatGoldens))]
    public async Task Engine_renders_golden_prompts_and_answers_them_greedily(string name)
    {
        var c = ChatGoldens.Conversation(name);
        var engine = fixture.Factory.Services.GetRequiredService<ChatEngine>();
        var messages = c.GetProperty("messages").EnumerateArray()
            .Select(m => new HubMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToList();
        using var prepared = await engine.PrepareAsync(new ChatJob("shapes-chat", messages, null, new SamplingRequest(Temperature: 0, MaxNewTokens: 48)), Ct);
        Assert.Equal(c.GetProperty("prompt").GetString(), prepared.Prompt.Text);
        Assert.Equal(ChatModelFixture.Ints(c.GetProperty("prompt_ids")), prepared.Prompt.Ids);
        var deltas = new StringBuilder();
        var summary = await engine.RunAsync(prepared, (d, _) => { deltas.Append(d.Text); return ValueTask.CompletedTask; }, Ct);
        Assert.Equal(ChatModelFixture.Ints(c.GetProperty("generated_ids")), summary.Choices[0].Ids);
        Assert.Equal(c.GetProperty("generated_text").GetString(), summary.Choices[0].Text);
        Assert.Equal(summary.Choices[0].Text, deltas.ToString());
        Assert.Equal(c.GetProperty("prompt_ids").GetArrayLength(), summary.Timings.PromptTokens);
        Assert.True(summary.Timings.PrefillMs > 0 && summary.Timings.TimeToFirstTokenMs >= summary.Timings.PrefillMs);
    }

    [Fact]
    public async Task Chat_completion_non_stream_answers_with_usage_and_timings()
    {
        var c = ChatGoldens.Conversation("single_count");
        using var client = fixture.Factory.CreateClient();
        var json = await ApiAsserts.PostJson(client, "/v1/chat/completions", new JsonObject { ["model"] = "shapes-chat", ["messages"] = Messages(c), ["temperature"] = 0 });
        Assert.Equal("chat.completion", json.GetProperty("object").GetString());
        Assert.StartsWith("chatcmpl-", json.GetProperty("id").GetString());
        Assert.Equal("shapes-chat", json.GetProperty("model").GetString());
        var choice = json.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(c.GetProperty("generated_text").GetString(), choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = json.GetProperty("usage");
        Assert.Equal(c.GetProperty("prompt_ids").GetArrayLength(), usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(c.GetProperty("generated_ids").GetArrayLength(), usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        var timings = json.GetProperty("timings");
        Assert.True(timings.GetProperty("prefill_ms").GetDouble() > 0);
        Assert.True(timings.GetProperty("decode_tokens_per_second").GetDouble() > 0);
    }

    [Fact]
    public async Task Streamed_chunks_concatenate_to_the_non_stream_answer_with_usage_in_the_final_chunk()
    {
        var c = ChatGoldens.Conversation("multi_turn_make_it_blue");
        using var client = fixture.Factory.CreateClient();
        var body = new JsonObject { ["messages"] = Messages(c), ["temperature"] = 0, ["stream"] = true, ["stream_options"] = new JsonObject { ["include_usage"] = true } };
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", body, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var chunks = await ApiAsserts.ReadSse(response);
        Assert.All(chunks, ch => Assert.Equal("chat.completion.chunk", ch.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(ch => ch.GetProperty("id").GetString()).Distinct());
        var first = chunks[0].GetProperty("choices")[0];
        Assert.Equal("assistant", first.GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("finish_reason").ValueKind);
        var text = string.Concat(chunks.SelectMany(ch => ch.GetProperty("choices").EnumerateArray())
            .Select(ch => ch.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.Equal(c.GetProperty("generated_text").GetString(), text);
        Assert.True(chunks.Count > 4, "the answer arrives in several chunks");
        var finish = chunks[^2].GetProperty("choices")[0];
        Assert.Equal("stop", finish.GetProperty("finish_reason").GetString());
        Assert.Empty(chunks[^1].GetProperty("choices").EnumerateArray());
        Assert.Equal(c.GetProperty("prompt_ids").GetArrayLength(), chunks[^1].GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.True(chunks[^1].GetProperty("timings").GetProperty("generated_tokens").GetInt32() > 0);

        // Without stream_options.include_usage (OpenAI's default) there is no usage chunk: the finish chunk is the last.
        body["stream_options"] = null;
        using var plain = await client.PostAsJsonAsync("/v1/chat/completions", body, Ct);
        var plainChunks = await ApiAsserts.ReadSse(plain);
        Assert.Equal("stop", plainChunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.All(plainChunks, ch => Assert.NotEmpty(ch.GetProperty("choices").EnumerateArray()));
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/completions")]
    [InlineData("/v1/caption")]
    public async Task A_full_queue_answers_429_to_streaming_requests_before_the_stream_starts(string url)
    {
        using var factory = fixture.Factory.WithWebHostBuilder(b => b.UseSetting("Queues:MaxQueued", "0"));
        var queues = factory.Services.GetRequiredService<MultimodalHub.Inference.Runtime.ModelQueues>();
        var model = url == "/v1/caption" ? "shapes-vlm" : "shapes-chat";
        using var held = await queues.EnterAsync(model, Ct); // the one running slot is taken; nothing may wait
        using var client = factory.CreateClient();
        object body = url switch
        {
            "/v1/chat/completions" => new { messages = new[] { new { role = "user", content = "hi" } }, stream = true },
            "/v1/completions" => new { prompt = "one, two,", stream = true },
            _ => new { image = Convert.ToBase64String(File.ReadAllBytes(Repo.Model("shapes-vlm", "goldens", "g1_red_circle_caption.png"))), stream = true },
        };
        using var response = await client.PostAsJsonAsync(url, body, Ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Theory]
    [InlineData("no-such-chat", 1.0, HttpStatusCode.NotFound, "model")]
    [InlineData("shapes-chat", -1.0, HttpStatusCode.BadRequest, "temperature")]
    public async Task A_streaming_request_that_accepts_only_event_streams_still_gets_its_error_as_problem_details(string model, double temperature, HttpStatusCode status, string field)
    {
        using var client = fixture.Factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model, temperature, messages = new[] { new { role = "user", content = "hi" } }, stream = true }),
        };
        request.Headers.Accept.ParseAdd("text/event-stream"); // as the web app's client and curl -N users send it
        using var response = await client.SendAsync(request, Ct);
        await ApiAsserts.AssertProblem(response, status, field);
    }

    [Fact]
    public async Task Official_openai_client_completes_a_chat()
    {
        using var http = fixture.Factory.CreateClient();
        var client = ApiAsserts.OpenAiClient(http).GetChatClient("shapes-chat");
        var c = ChatGoldens.Conversation("single_mix_with_system");
        var messages = c.GetProperty("messages").EnumerateArray().Select<JsonElement, OpenAI.Chat.ChatMessage>(m => m.GetProperty("role").GetString() switch
        {
            "system" => new SystemChatMessage(m.GetProperty("content").GetString()),
            "assistant" => new AssistantChatMessage(m.GetProperty("content").GetString()),
            _ => new UserChatMessage(m.GetProperty("content").GetString()),
        }).ToList();
        ChatCompletion completion = await client.CompleteChatAsync(messages, new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 48 }, Ct);
        Assert.Equal(c.GetProperty("generated_text").GetString(), completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(c.GetProperty("prompt_ids").GetArrayLength(), completion.Usage.InputTokenCount);
    }

    [Fact]
    public async Task Official_openai_client_streams_a_chat()
    {
        using var http = fixture.Factory.CreateClient();
        var client = ApiAsserts.OpenAiClient(http).GetChatClient("shapes-chat");
        var c = ChatGoldens.Conversation("single_prompt_no_system");
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(Messages(c)[0]!["content"]!.GetValue<string>())],
            new ChatCompletionOptions { Temperature = 0 }, Ct))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal(c.GetProperty("generated_text").GetString(), text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(c.GetProperty("prompt_ids").GetArrayLength(), usage!.InputTokenCount);
    }

    [Fact]
    public async Task Raw_completion_continues_the_prompt()
    {
        var c = ChatGoldens.Conversation("single_off_topic");
        using var client = fixture.Factory.CreateClient();
        var json = await ApiAsserts.PostJson(client, "/v1/completions", new { prompt = c.GetProperty("prompt").GetString(), temperature = 0 });
        Assert.Equal("text_completion", json.GetProperty("object").GetString());
        Assert.Equal(c.GetProperty("generated_text").GetString(), json.GetProperty("choices")[0].GetProperty("text").GetString());

        using var response = await client.PostAsJsonAsync("/v1/completions", new
        {
            prompt = c.GetProperty("prompt").GetString(),
            temperature = 0,
            stream = true,
            stream_options = new { include_usage = true }
        }, Ct);
        var chunks = await ApiAsserts.ReadSse(response);
        Assert.Empty(chunks[^1].GetProperty("choices").EnumerateArray());
        Assert.Equal(c.GetProperty("prompt_ids").GetArrayLength(), chunks[^1].GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(c.GetProperty("generated_text").GetString(), string.Concat(chunks.SelectMany(ch => ch.GetProperty("choices").EnumerateArray()).Select(ch => ch.GetProperty("text").GetString())));
    }

    [Fact]
    public async Task Stop_sequence_cuts_the_answer_before_it()
    {
        using var client = fixture.Factory.CreateClient();
        var c = ChatGoldens.Conversation("single_count"); // "one, two, three, four, five"
        var json = await ApiAsserts.PostJson(client, "/v1/chat/completions", new JsonObject { ["messages"] = Messages(c), ["temperature"] = 0, ["stop"] = "ree," });
        Assert.Equal("one, two, th", json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var limited = await ApiAsserts.PostJson(client, "/v1/chat/completions", new JsonObject { ["messages"] = Messages(c), ["temperature"] = 0, ["max_tokens"] = 2 });
        Assert.Equal("length", limited.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(2, limited.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Ignore_eos_generates_exactly_max_tokens_past_the_end_of_sequence()
    {
        using var client = fixture.Factory.CreateClient();
        var c = ChatGoldens.Conversation("single_count");
        JsonObject Body(bool? ignoreEos)
        {
            var body = new JsonObject { ["messages"] = Messages(c), ["temperature"] = 1, ["seed"] = 5, ["max_tokens"] = 200 };
            if (ignoreEos is { } v) body["ignore_eos"] = v;
            return body;
        }
        // Without it the model ends its short answer itself (eos) well before the limit.
        var normal = await ApiAsserts.PostJson(client, "/v1/chat/completions", Body(null));
        Assert.Equal("stop", normal.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.True(normal.GetProperty("usage").GetProperty("completion_tokens").GetInt32() < 200);
        Assert.Equal("stop", (await ApiAsserts.PostJson(client, "/v1/chat/completions", Body(false))).GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        var ignored = await ApiAsserts.PostJson(client, "/v1/chat/completions", Body(true));
        var choice = ignored.GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(200, ignored.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(200, ignored.GetProperty("timings").GetProperty("generated_tokens").GetInt32());
        // Same seed, same draws: the answer up to the eos is the normal one, then it goes on.
        var normalText = normal.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        var ignoredText = choice.GetProperty("message").GetProperty("content").GetString()!;
        Assert.StartsWith(normalText, ignoredText);
        Assert.True(ignoredText.Length > normalText.Length);

        // /v1/completions takes it too.
        var prompt = c.GetProperty("prompt").GetString();
        var raw = await ApiAsserts.PostJson(client, "/v1/completions", new JsonObject { ["prompt"] = prompt, ["temperature"] = 1, ["seed"] = 5, ["max_tokens"] = 200, ["ignore_eos"] = true });
        Assert.Equal("length", raw.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(200, raw.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Seeded_sampling_is_reproducible_over_http_and_n_gives_n_choices()
    {
        using var client = fixture.Factory.CreateClient();
        var msgs = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = "tell me a story about a dragon" } };
        async Task<string[]> Ask(long seed) => (await ApiAsserts.PostJson(client, "/v1/chat/completions",
                new JsonObject { ["messages"] = msgs.DeepClone(), ["temperature"] = 1.5, ["top_p"] = 1, ["top_k"] = 0, ["seed"] = seed, ["n"] = 3, ["max_tokens"] = 12 }))
            .GetProperty("choices").EnumerateArray().Select(ch => ch.GetProperty("message").GetProperty("content").GetString()!).ToArray();
        var a = await Ask(11);
        Assert.Equal(3, a.Length);
        Assert.Equal(a, await Ask(11));
    }

    [Fact]
    public async Task Self_consistency_returns_the_majority_with_votes()
    {
        using var client = fixture.Factory.CreateClient();
        var c = ChatGoldens.Conversation("single_mix_with_system");
        var json = await ApiAsserts.PostJson(client, "/v1/chat/completions", new JsonObject
        {
            ["messages"] = Messages(c),
            ["preset"] = "self_consistency",
            ["self_consistency_samples"] = 5,
            ["seed"] = 1,
        });
        var choice = json.GetProperty("choices")[0];
        var votes = choice.GetProperty("votes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(5, votes.Values.Sum());
        Assert.Equal(votes.MaxBy(v => v.Value).Key, choice.GetProperty("message").GetProperty("content").GetString()!.Trim().TrimEnd('.').ToLowerInvariant());
    }

    [Fact]
    public async Task Long_conversations_drop_their_oldest_turns_but_keep_the_system_prompt()
    {
        using var factory = fixture.Factory.WithWebHostBuilder(b => b.UseSetting("Chat:ContextWindow", "120"));
        using var client = factory.CreateClient();
        var msgs = new JsonArray { new JsonObject { ["role"] = "system", ["content"] = "Answer briefly." } };
        for (var i = 0; i < 6; i++)
        {
            msgs.Add(new JsonObject { ["role"] = "user", ["content"] = "write a prompt for a picture of a red circle" });
            msgs.Add(new JsonObject { ["role"] = "assistant", ["content"] = "a large red circle in the center on a white background" });
        }
        msgs.Add(new JsonObject { ["role"] = "user", ["content"] = "count from one to three" });
        var json = await ApiAsserts.PostJson(client, "/v1/chat/completions", new JsonObject { ["messages"] = msgs, ["temperature"] = 0, ["max_tokens"] = 16 });
        var context = json.GetProperty("context");
        Assert.True(context.GetProperty("trimmed").GetBoolean());
        Assert.True(context.GetProperty("dropped_messages").GetInt32() >= 2);
        Assert.True(json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() <= 120 - 16);
        Assert.Equal("one, two, three", json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Trimming_drops_just_enough_of_the_oldest_turns()
    {
        using var factory = fixture.Factory.WithWebHostBuilder(b => b.UseSetting("Chat:ContextWindow", "120"));
        var engine = factory.Services.GetRequiredService<ChatEngine>();
        var messages = new List<HubMessage> { new("system", "Answer briefly.") };
        for (var i = 0; i < 10; i++)
        {
            messages.Add(new HubMessage("user", $"write a prompt for a picture of {i + 1} red circles"));
            messages.Add(new HubMessage("assistant", "a large red circle in the center on a white background"));
        }
        messages.Add(new HubMessage("user", "count from one to three"));
        using var prepared = await engine.PrepareAsync(new ChatJob("shapes-chat", messages, null, new SamplingRequest(Temperature: 0, MaxNewTokens: 16)), Ct);
        var dropped = prepared.Prompt.Context!.DroppedMessages;
        Assert.True(prepared.Prompt.Ids.Count <= 120 - 16);
        Assert.Equal(0, dropped % 2); // whole exchanges
        // Keeping one more exchange would not have fitted.
        var oneMore = messages.Take(1).Concat(messages.Skip(1 + dropped - 2)).ToList();
        var text = prepared.Model.Template.Render(oneMore, addGenerationPrompt: true);
        Assert.True(prepared.Model.Tokenizer.Encode(text, addSpecialTokens: false).Count > 120 - 16);
        Assert.Equal(prepared.Model.Template.Render(messages.Take(1).Concat(messages.Skip(1 + dropped)).ToList(), addGenerationPrompt: true), prepared.Prompt.Text);
    }

    [Fact]
    public async Task Too_many_messages_or_characters_are_rejected_up_front()
    {
        using var client = fixture.Factory.CreateClient();
        var many = new JsonArray();
        for (var i = 0; i < ChatTokenize.MaxMessages + 1; i++) many.Add(new JsonObject { ["role"] = "user", ["content"] = "hi" });
        var huge = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = new string('a', 2_000_000) } };
        foreach (var msgs in new[] { many, huge })
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", new JsonObject { ["messages"] = msgs, ["max_tokens"] = 4 }, Ct);
            var text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
            Assert.Equal("messages", JsonDocument.Parse(text).RootElement.GetProperty("field").GetString());
        }
    }

    public static TheoryData<string, string, int> BadRequests => new()
    {
        { """{"messages":[]}""", "messages", 400 },
        { """{"messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role", 400 },
        { """{"messages":[{"role":"user","content":""}]}""", "messages[0].content", 400 },
        { """{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens", 400 },
        { """{"messages":[{"role":"user","content":"hi"}],"max_tokens":5000}""", "max_tokens", 400 },
        { """{"messages":[{"role":"user","content":"hi"}],"temperature":-1}""", "temperature", 400 },
        { """{"messages":[{"role":"user","content":"hi"}],"n":0}""", "n", 400 },
        { """{"messages":[{"role":"user","content":"hi"}],"n":100}""", "n", 400 },
        { """{"messages":[{"role":"user","content":"hi"}],"top_p":2}""", "top_p", 400 },
        { """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,aGVsbG8="}}]}]}""", "messages[0].content[0].image_url.url", 400 },
        { """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@"}}]}]}""", "messages[0].content[0].image_url.url", 400 },
        { """{"messages":[{"role":"user","content":"hi"}],"model":"no-such-model"}""", "model", 404 },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_are_problem_details_naming_the_field(string body, string field, int status)
    {
        using var client = fixture.Factory.CreateClient();
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await ApiAsserts.AssertProblem(response, (HttpStatusCode)status, field);
    }

    [Fact]
    public async Task Too_long_prompt_is_rejected()
    {
        using var client = fixture.Factory.CreateClient();
        var huge = string.Join(" ", Enumerable.Repeat("circle square", 2000));
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", new { messages = new[] { new { role = "user", content = huge } } }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("messages", JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Dropped_client_cancels_generation()
    {
        var engine = fixture.Factory.Services.GetRequiredService<ChatEngine>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var deltas = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => engine.CompleteAsync(
            new ChatJob(null, [new HubMessage("user", "count from one to ten")], null, new SamplingRequest(Temperature: 0)),
            (d, _) => { if (++deltas == 2) cts.Cancel(); return ValueTask.CompletedTask; }, cts.Token));
        Assert.InRange(deltas, 2, 3);
    }
}
