using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Vlm;

/// <summary>/v1/caption, /v1/vqa, image parts in /v1/chat/completions and the caption/ask CLI on the real host.</summary>
public sealed class VlmApiTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static readonly JsonDocument Goldens = JsonDocument.Parse(File.ReadAllText(Repo.Model("shapes-vlm", "goldens", "cases.json")));
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonElement Case(string name) => Goldens.RootElement.GetProperty("cases").EnumerateArray().First(c => c.GetProperty("name").GetString() == name);

    private static string ImagePath(string name) => Repo.Model("shapes-vlm", "goldens", Case(name).GetProperty("image").GetString()!);

    private static string Base64(string name) => Convert.ToBase64String(File.ReadAllBytes(ImagePath(name)));

    private static string Question(JsonElement turn) =>
        turn.GetProperty("messages").EnumerateArray().Last().GetProperty("content") is var c && c.ValueKind == JsonValueKind.String
            ? c.GetString()! : c.EnumerateArray().Last().GetProperty("text").GetString()!;

    [Theory]
    [InlineData("g1_red_circle_caption")]
    [InlineData("g2_two_shapes_caption")]
    [InlineData("g7_non_square")]
    public async Task Caption_endpoint_gives_the_golden_caption(string name)
    {
        using var client = fixture.Factory.CreateClient();
        var turn = Case(name).GetProperty("turns")[0];
        var json = await ApiAsserts.PostJson(client, "/v1/caption", new { image = "data:image/png;base64," + Base64(name), prompt = Question(turn) });
        Assert.Equal(turn.GetProperty("generated_text").GetString(), json.GetProperty("text").GetString());
        Assert.Equal("shapes-vlm", json.GetProperty("model").GetString());
        Assert.Equal("stop", json.GetProperty("finish_reason").GetString());
        Assert.Equal(turn.GetProperty("expanded_ids").GetArrayLength(), json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        var beams = await ApiAsserts.PostJson(client, "/v1/caption", new { image = Base64(name), prompt = Question(turn), num_beams = 3 });
        Assert.Equal(turn.GetProperty("generated_text").GetString(), beams.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Caption_streams_deltas_then_a_final_event_and_done()
    {
        using var client = fixture.Factory.CreateClient();
        var turn = Case("g2_two_shapes_caption").GetProperty("turns")[0];
        using var response = await client.PostAsJsonAsync("/v1/caption", new { image = Base64("g2_two_shapes_caption"), prompt = Question(turn), stream = true }, Ct);
        var parsed = await ApiAsserts.ReadSse(response);
        var last = parsed[^1];
        Assert.True(last.GetProperty("done").GetBoolean());
        var text = string.Concat(parsed.SkipLast(1).Select(e => e.GetProperty("delta").GetString()));
        Assert.Equal(turn.GetProperty("generated_text").GetString(), text);
        Assert.Equal(text, last.GetProperty("text").GetString());
        Assert.True(parsed.Count > 3);
    }

    [Theory]
    [InlineData("g3_triangle_color")]
    [InlineData("g4_star_where")]
    [InlineData("g5_count_64px")]
    public async Task Vqa_answers_golden_questions(string name)
    {
        using var client = fixture.Factory.CreateClient();
        var turn = Case(name).GetProperty("turns")[0];
        var json = await ApiAsserts.PostJson(client, "/v1/vqa", new { image = Base64(name), question = Question(turn) });
        Assert.Equal(turn.GetProperty("generated_text").GetString(), json.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Vqa_follow_up_with_history_reuses_the_conversation_cache()
    {
        using var client = fixture.Factory.CreateClient();
        var turns = Case("g6_multi_turn").GetProperty("turns").EnumerateArray().ToArray();
        var image = Base64("g6_multi_turn");
        var first = await ApiAsserts.PostJson(client, "/v1/vqa", new { image, question = Question(turns[0]) });
        Assert.Equal(turns[0].GetProperty("generated_text").GetString(), first.GetProperty("text").GetString());
        var second = await ApiAsserts.PostJson(client, "/v1/vqa", new
        {
            image,
            question = Question(turns[1]),
            history = new[] { new { question = Question(turns[0]), answer = first.GetProperty("text").GetString() } },
        });
        Assert.Equal(turns[1].GetProperty("generated_text").GetString(), second.GetProperty("text").GetString());
        var timings = second.GetProperty("timings");
        // Only the follow-up's own tokens were fed: the rest came from the first turn's cache.
        Assert.Equal(turns[0].GetProperty("expanded_ids").GetArrayLength() + turns[0].GetProperty("generated_ids").GetArrayLength() - 1,
            timings.GetProperty("cached_tokens").GetInt32());
        Assert.Equal(turns[1].GetProperty("expanded_ids").GetArrayLength(), timings.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(first.GetProperty("image_hash").GetString(), second.GetProperty("image_hash").GetString());
    }

    [Fact]
    public async Task Image_url_part_in_chat_completions_is_answered_by_the_vlm()
    {
        using var client = fixture.Factory.CreateClient();
        var turn = Case("g3_triangle_color").GetProperty("turns")[0];
        var body = new JsonObject
        {
            ["model"] = "shapes-chat", // a text-only model: the default VLM answers
            ["temperature"] = 0,
            ["messages"] = new JsonArray
            {
                new JsonObject
                {
                    ["role"] = "user",
                    ["content"] = new JsonArray
                    {
                        new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "data:image/png;base64," + Base64("g3_triangle_color") } },
                        new JsonObject { ["type"] = "text", ["text"] = Question(turn) },
                    },
                },
            },
        };
        var json = await ApiAsserts.PostJson(client, "/v1/chat/completions", body);
        Assert.Equal("shapes-vlm", json.GetProperty("model").GetString());
        Assert.Equal(turn.GetProperty("generated_text").GetString(), json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());

        body["stream"] = true;
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", body, Ct);
        var text = string.Concat((await ApiAsserts.ReadSse(response))
            .SelectMany(e => e.GetProperty("choices").EnumerateArray())
            .Select(c => c.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.Equal(turn.GetProperty("generated_text").GetString(), text);
    }

    public static TheoryData<string, string, string, int> BadRequests => new()
    {
        { "/v1/caption", """{}""", "image", 400 },
        { "/v1/caption", """{"image":"bm90IGFuIGltYWdl"}""", "image", 400 },
        { "/v1/caption", """{"image":"%%%"}""", "image", 400 },
        { "/v1/caption", """{"image":"https://example.com/a.png"}""", "image", 400 },
        { "/v1/caption", $$"""{"image":"{{Base64("g1_red_circle_caption")}}","num_beams":0}""", "num_beams", 400 },
        { "/v1/caption", $$"""{"image":"{{Base64("g1_red_circle_caption")}}","max_tokens":100000}""", "max_tokens", 400 },
        { "/v1/caption", $$"""{"image":"{{Base64("g1_red_circle_caption")}}","model":"nope"}""", "model", 404 },
        { "/v1/caption", $$"""{"image":"{{Base64("g1_red_circle_caption")}}","model":"shapes-chat"}""", "model", 400 },
        { "/v1/vqa", $$"""{"image":"{{Base64("g1_red_circle_caption")}}","question":" "}""", "question", 400 },
        { "/v1/vqa", $$"""{"image":"{{Base64("g1_red_circle_caption")}}","question":"what?","history":[{"question":"","answer":"x"}]}""", "history[0].question", 400 },
        { "/v1/vqa", $$"""{"image":"{{Base64("g1_red_circle_caption")}}","question":"what?","temperature":-2}""", "temperature", 400 },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_are_problem_details_naming_the_field(string url, string body, string field, int status)
    {
        using var client = fixture.Factory.CreateClient();
        using var response = await client.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await ApiAsserts.AssertProblem(response, (HttpStatusCode)status, field);
    }

    [Fact]
    public async Task Cli_caption_and_ask_print_json()
    {
        var commands = fixture.Factory.Services.GetServices<ICliCommand>().ToDictionary(c => c.Name);
        var caption = new StringWriter();
        Assert.Equal(0, await commands["caption"].RunAsync(new CliArgs(["--image", ImagePath("g1_red_circle_caption")]), caption, Ct));
        var c = JsonDocument.Parse(caption.ToString()).RootElement;
        Assert.Equal("a large red circle in the center", c.GetProperty("text").GetString());
        Assert.Equal("shapes-vlm", c.GetProperty("model").GetString());

        var turns = Case("g6_multi_turn").GetProperty("turns").EnumerateArray().ToArray();
        var ask = new StringWriter();
        Assert.Equal(0, await commands["ask"].RunAsync(new CliArgs(["--image", ImagePath("g6_multi_turn"), "--question", Question(turns[0]), "--question", Question(turns[1])]), ask, Ct));
        var a = JsonDocument.Parse(ask.ToString()).RootElement;
        Assert.Equal([turns[0].GetProperty("generated_text").GetString(), turns[1].GetProperty("generated_text").GetString()],
            a.GetProperty("answers").EnumerateArray().Select(x => x.GetProperty("answer").GetString()).ToArray());
    }

    [Fact]
    public async Task Cli_chat_prints_json_with_usage_and_timings()
    {
        var chat = fixture.Factory.Services.GetServices<ICliCommand>().Single(c => c.Name == "chat");
        var output = new StringWriter();
        Assert.Equal(0, await chat.RunAsync(new CliArgs(["--prompt", "count from one to five", "--temperature", "0", "--json"]), output, Ct));
        var json = JsonDocument.Parse(output.ToString()).RootElement;
        Assert.Equal("one, two, three, four, five", json.GetProperty("text").GetString());
        Assert.True(json.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        Assert.True(json.GetProperty("timings").GetProperty("prefill_ms").GetDouble() > 0);
    }

    [Theory]
    [InlineData("chat", "--prompt", "hi")]
    [InlineData("caption", "--image", "")]
    [InlineData("ask", "--question", "what is it?")]
    public async Task Cli_rejects_a_non_numeric_seed_as_a_usage_error(string command, string option, string value)
    {
        var cmd = fixture.Factory.Services.GetServices<ICliCommand>().Single(c => c.Name == command);
        string[] args = command == "chat" ? [option, value, "--seed", "abc"] : ["--image", ImagePath("g1_red_circle_caption"), .. command == "ask" ? new[] { option, value } : [], "--seed", "abc"];
        var e = await Assert.ThrowsAsync<CliUsageException>(() => cmd.RunAsync(new CliArgs(args), new StringWriter(), Ct));
        Assert.Contains("--seed", e.Message);
    }

    [Fact]
    public async Task Conversation_caches_are_freed_with_the_model_on_idle_unload()
    {
        using var factory = fixture.Factory.WithWebHostBuilder(b => b.UseSetting("Inference:IdleUnload", "00:00:00.001"));
        var engine = factory.Services.GetRequiredService<MultimodalHub.Inference.Engines.Vlm.VlmEngine>();
        var image = MultimodalHub.Inference.Imaging.ImageCodec.Decode(File.ReadAllBytes(ImagePath("g1_red_circle_caption")), new MultimodalHub.Inference.Imaging.ImageLimits(), "image");
        MultimodalHub.Inference.Engines.Vlm.VlmModel model;
        using (var prepared = await engine.PrepareAsync(new MultimodalHub.Inference.Engines.Vlm.VlmJob("shapes-vlm",
            MultimodalHub.Inference.Engines.Vlm.VlmEngine.CaptionMessages("describe the image."), [image], new MultimodalHub.Inference.Runtime.Generation.SamplingRequest(Temperature: 0)), Ct))
        {
            await engine.RunAsync(prepared, null, Ct);
            model = prepared.Model;
        }
        Assert.Equal(1, model.Conversations.Count);
        await Task.Delay(20, Ct);
        Assert.True(factory.Services.GetRequiredService<MultimodalHub.Inference.Runtime.LoadedModels>().UnloadIdle() >= 1);
        Assert.Equal(0, model.Conversations.Count); // the native KV tensors went with the model
    }
}
