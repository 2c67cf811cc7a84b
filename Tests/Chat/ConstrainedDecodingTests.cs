using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using MultimodalHub.Inference.Runtime.Constrained;
using MultimodalHub.Inference.Text;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;
using OpenAI.Chat;

namespace MultimodalHub.Tests.Chat;

/// <summary>
/// response_format json_object / json_schema: the byte-level JSON automaton, the token mask over the real
/// shapes-chat tokenizer, and answers of the real model that always parse and fit the schema (checked with JsonSchema.Net).
/// </summary>
public sealed class ConstrainedDecodingTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Shape = """
        {"type":"object","properties":{"color":{"type":"string","enum":["red","green","blue"]},"shape":{"enum":["circle","square","star"]},
         "count":{"type":"integer"}},"required":["color","shape","count"],"additionalProperties":false}
        """;

    private const string Mixed = """
        {"type":"object","properties":{"name":{"type":"string","maxLength":12},"tags":{"type":"array","items":{"type":"string","maxLength":8},"minItems":1,"maxItems":3},
         "ok":{"type":"boolean"},"score":{"type":"number"},"note":{"type":["string","null"],"maxLength":10}},"required":["name","tags","ok","score","note"]}
        """;

    private const string Numbers = """{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":5}""";

    private const string Nested = """
        {"type":"object","properties":{"scene":{"type":"object","properties":{"background":{"enum":["white","black","gray"]},
         "shapes":{"type":"array","items":{"type":"object","properties":{"color":{"enum":["red","blue"]},"size":{"type":"number"}},"required":["color","size"]},"maxItems":2}},
         "required":["background","shapes"]}},"required":["scene"]}
        """;

    private static SchemaNode Compile(string schema) => JsonSchemaCompiler.Compile(JsonDocument.Parse(schema).RootElement, "schema");

    private static bool Accepts(SchemaNode schema, string text) => JsonState.Start(schema).Feed(Encoding.UTF8.GetBytes(text)) is { CanEnd: true };

    public static TheoryData<string?, string, bool> Texts => new()
    {
        { null, """{"a": [1, 2.5e3, -0, true, null, "x\u00e9\n"], "b": {}}""", true },
        { null, """{}""", true },
        { null, """{"a": 01}""", false },
        { null, """{"a" 1}""", false },
        { null, """[1]""", false },
        { null, """{"a":1}}""", false },
        { null, """{"a":1""", false },
        { null, """{"a":"\ud83d"}""", false },
        { Shape, """{"color":"red","shape":"circle","count":3}""", true },
        { Shape, """{"count": -12, "shape": "star", "color": "blue"}""", true },
        { Shape, """{"color":"red","shape":"circle"}""", false },
        { Shape, """{"color":"pink","shape":"circle","count":3}""", false },
        { Shape, """{"color":"red","shape":"circle","count":3,"size":1}""", false },
        { Shape, """{"color":"red","shape":"circle","count":1.5}""", false },
        { Shape, """{"color":"red","color":"red","shape":"circle","count":1}""", false },
        { Numbers, "[1,2]", true },
        { Numbers, "[1]", false },
        { Numbers, "[1,2,3,4,5,6]", false },
        { Numbers, "7", false },
        { Mixed, """{"name":"abcdefghijkl","tags":["é"],"ok":false,"score":1e5,"note":null}""", true },
        { Mixed, """{"name":"abcdefghijklm","tags":["a"],"ok":false,"score":1,"note":null}""", false },
        { Mixed, """{"name":"a","tags":[],"ok":false,"score":1,"note":null}""", false },
        { Mixed, """{"name":"a","tags":["a"],"ok":false,"score":1,"note":7}""", false },
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void Automaton_accepts_json_that_fits_and_refuses_what_does_not(string? schema, string text, bool expected) =>
        Assert.Equal(expected, Accepts(schema is null ? SchemaNode.AnyObject() : Compile(schema), text));

    [Fact]
    public void Top_level_numbers_may_end_or_go_on_and_whitespace_is_bounded()
    {
        var number = Compile("""{"type":"number"}""");
        Assert.True(Accepts(number, "12"));
        Assert.True(JsonState.Start(number).Feed("12"u8)!.Feed((byte)'5') is not null);
        Assert.False(Accepts(number, "12."));
        var spaces = new string(' ', JsonState.MaxWhitespace);
        Assert.True(Accepts(SchemaNode.AnyObject(), "{" + spaces + "}"));
        Assert.False(Accepts(SchemaNode.AnyObject(), "{" + spaces + " }"));
    }

    [Theory]
    [InlineData(Shape, """{"col""")]
    [InlineData(Shape, """{"color":"red", """)]
    [InlineData(Mixed, """{"name":"ab\""")]
    [InlineData(Mixed, """{"name":"a","tags":["x","y""")]
    [InlineData(Nested, """{"scene":{"shapes":[{"size":-""")]
    [InlineData(Numbers, "[")]
    [InlineData(null, """{"a":[{"b":"\u00""")]
    [InlineData(null, "{\"a\":\"\u00e9|E2")]
    public void The_shortest_closing_of_any_prefix_completes_json_that_fits(string? schema, string prefix)
    {
        var node = schema is null ? SchemaNode.AnyObject() : Compile(schema);
        // "|E2" stands for a lone UTF-8 lead byte (a token that splits a character).
        byte[] bytes = prefix.EndsWith("|E2", StringComparison.Ordinal) ? [.. Encoding.UTF8.GetBytes(prefix[..^3]), 0xE2] : Encoding.UTF8.GetBytes(prefix);
        var state = JsonState.Start(node).Feed(bytes);
        Assert.NotNull(state);
        var closing = state.Closing();
        var whole = bytes.Concat(closing).ToArray();
        Assert.True(JsonState.Start(node).Feed(whole) is { CanEnd: true }, Encoding.UTF8.GetString(whole));
        using var doc = JsonDocument.Parse(whole);
        if (schema is not null) AssertFits(schema, Encoding.UTF8.GetString(whole));
    }

    [Fact]
    public void Token_mask_equals_trying_every_token_on_its_own()
    {
        var tokenizer = TokenizerLoader.Load(Repo.Model("shapes-chat"));
        const int vocab = 1285;
        var index = TokenByteIndex.Build(vocab, id => tokenizer.TokenBytes(id, skipSpecialTokens: true));
        var random = new Random(3);
        foreach (var schema in new[] { SchemaNode.AnyObject(), Compile(Shape), Compile(Mixed), Compile(Nested) })
        {
            var constraint = new JsonConstraint(index, schema, new HashSet<int> { 1284 });
            for (var step = 0; step < 60; step++)
            {
                var allowed = new bool[1344];
                constraint.Allow(constraint.State, allowed);
                var brute = Enumerable.Range(0, vocab).Where(id => index.Bytes[id].Length > 0 && constraint.State.Feed(index.Bytes[id]) is not null).ToArray();
                Assert.Equal(brute, Enumerable.Range(0, allowed.Length).Where(i => allowed[i]));
                if (brute.Length == 0) break;
                constraint.Accept(brute[random.Next(brute.Length)]);
            }
        }
    }

    public static TheoryData<string, long?> Schemas => new()
    {
        { Shape, null }, { Shape, 1 }, { Shape, 2 }, { Shape, 3 },
        { Mixed, null }, { Mixed, 4 }, { Mixed, 5 },
        { Numbers, null }, { Numbers, 6 },
        { Nested, null }, { Nested, 7 }, { Nested, 8 },
    };

    private static JsonObject Request(string prompt, JsonNode format, long? seed, int maxTokens = 400)
    {
        var body = new JsonObject
        {
            ["model"] = "shapes-chat",
            ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = prompt } },
            ["response_format"] = format,
            ["max_tokens"] = maxTokens,
        };
        if (seed is { } s) { body["seed"] = s; body["temperature"] = 1.0; }
        else body["temperature"] = 0;
        return body;
    }

    private static JsonObject SchemaFormat(string schema) => new()
    {
        ["type"] = "json_schema",
        ["json_schema"] = new JsonObject { ["name"] = "answer", ["strict"] = true, ["schema"] = JsonNode.Parse(schema) },
    };

    private static void AssertFits(string schema, string content)
    {
        using var doc = JsonDocument.Parse(content);
        var result = JsonSchema.FromText(schema).Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"{content} does not fit {schema}");
    }

    [Theory]
    [MemberData(nameof(Schemas))]
    public async Task Answers_of_the_real_model_parse_and_fit_the_schema(string schema, long? seed)
    {
        using var client = fixture.Factory.CreateClient();
        var json = await ApiAsserts.PostJson(client, "/v1/chat/completions", Request("write a prompt for a picture of a red circle", SchemaFormat(schema), seed));
        var choice = json.GetProperty("choices")[0];
        var content = choice.GetProperty("message").GetProperty("content").GetString()!;
        Assert.True(choice.GetProperty("finish_reason").GetString() == "stop", content);
        AssertFits(schema, content);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(11L)]
    [InlineData(12L)]
    public async Task Json_object_answers_are_objects_streamed_or_not(long? seed)
    {
        using var client = fixture.Factory.CreateClient();
        var body = Request("what do you get when you mix blue and yellow?", new JsonObject { ["type"] = "json_object" }, seed);
        var json = await ApiAsserts.PostJson(client, "/v1/chat/completions", body.DeepClone());
        var content = json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.True(json.GetProperty("choices")[0].GetProperty("finish_reason").GetString() == "stop", content);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(content).RootElement.ValueKind);

        body["stream"] = true;
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", body, Ct);
        var chunks = await ApiAsserts.ReadSse(response);
        var streamed = string.Concat(chunks.SelectMany(ch => ch.GetProperty("choices").EnumerateArray())
            .Select(ch => ch.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.Equal(content, streamed);
    }

    [Theory]
    [InlineData(Shape, 50)]
    [InlineData(Nested, 45)]
    [InlineData(null, 12)]
    [InlineData(null, 30)]
    public async Task A_small_token_budget_still_ends_in_json_that_fits(string? schema, int maxTokens)
    {
        using var client = fixture.Factory.CreateClient();
        var format = schema is null ? new JsonObject { ["type"] = "json_object" } : SchemaFormat(schema);
        var json = await ApiAsserts.PostJson(client, "/v1/chat/completions", Request("count from one to ten", format, 5, maxTokens));
        var content = json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.True(json.GetProperty("usage").GetProperty("completion_tokens").GetInt32() <= maxTokens);
        if (schema is null) Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(content).RootElement.ValueKind);
        else AssertFits(schema, content);
    }

    [Fact]
    public async Task Official_openai_client_gets_json_that_fits_its_schema()
    {
        using var http = fixture.Factory.CreateClient();
        var client = ApiAsserts.OpenAiClient(http).GetChatClient("shapes-chat");
        var options = new ChatCompletionOptions
        {
            Temperature = 0,
            MaxOutputTokenCount = 300,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("scene", BinaryData.FromString(Nested), jsonSchemaIsStrict: true),
        };
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("write a prompt for a picture of a blue star")], options, Ct);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        AssertFits(Nested, completion.Content[0].Text);
    }

    public static TheoryData<string, string> BadFormats => new()
    {
        { """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"name":{"type":"string","pattern":"^a"}}}}}""", "response_format.json_schema.schema.properties.name.pattern" },
        { """{"type":"json_schema","json_schema":{"name":"x","schema":{"anyOf":[{"type":"string"},{"type":"integer"}]}}}""", "response_format.json_schema.schema.anyOf" },
        { """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"n":{"type":"integer","minimum":3}}}}}""", "response_format.json_schema.schema.properties.n.minimum" },
        { """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"array","items":{"$ref":"#/$defs/a"}}}}""", "response_format.json_schema.schema.items.$ref" },
        { """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"thing"}}}""", "response_format.json_schema.schema.type" },
        { """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{},"required":["a"]}}}""", "response_format.json_schema.schema.required" },
        { """{"type":"json_schema","json_schema":{"name":"x"}}""", "response_format.json_schema.schema" },
        { """{"type":"yaml"}""", "response_format.type" },
    };

    [Theory]
    [MemberData(nameof(BadFormats))]
    public async Task Schemas_that_cannot_be_enforced_are_400s_naming_the_keyword(string format, string field)
    {
        using var client = fixture.Factory.CreateClient();
        var body = $$"""{"messages":[{"role":"user","content":"hi"}],"response_format":{{format}}}""";
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await ApiAsserts.AssertProblem(response, System.Net.HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Ignore_eos_and_image_conversations_refuse_a_response_format()
    {
        using var client = fixture.Factory.CreateClient();
        var body = """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"},"ignore_eos":true}""";
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await ApiAsserts.AssertProblem(response, System.Net.HttpStatusCode.BadRequest, "ignore_eos");
        var png = Convert.ToBase64String(File.ReadAllBytes(Repo.Model("shapes-vlm", "goldens", "g1_red_circle_caption.png")));
        var image = """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,""" + png
            + "\"}}]}],\"response_format\":{\"type\":\"json_object\"}}";
        using var vlm = await client.PostAsync("/v1/chat/completions", new StringContent(image, Encoding.UTF8, "application/json"), Ct);
        await ApiAsserts.AssertProblem(vlm, System.Net.HttpStatusCode.BadRequest, "response_format");
    }
}
