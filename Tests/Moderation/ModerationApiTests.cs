// The client marks its multimodal moderation API (image parts, applicable input kinds) as experimental.
#pragma warning disable OPENAI001

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;
using OpenAI.Moderations;

namespace MultimodalHub.Tests.Moderation;

/// <summary>
/// /v1/moderations on the shipped demo settings (Inference/appsettings.json: word and pattern rules, the shapes chat
/// model as classifier, the "a purple star" concept), through the real host and the official OpenAI client.
/// </summary>
public sealed class ModerationApiTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ModerationClient Client(HttpClient http) => ApiAsserts.OpenAiClient(http).GetModerationClient("hub-moderation-latest");

    private static async Task<string> GeneratedPngAsync(HttpClient http, string prompt, long seed)
    {
        var result = await ApiAsserts.PostJson(http, "/v1/images/generations", new JsonObject { ["prompt"] = prompt, ["seed"] = seed });
        return result.GetProperty("data")[0].GetProperty("b64_json").GetString()!;
    }

    [Fact]
    public async Task Words_and_patterns_flag_their_category_with_the_OpenAI_client()
    {
        using var http = fixture.Factory.CreateClient();
        var client = Client(http);
        ModerationResult smash = await client.ClassifyTextAsync("smash the blue square", Ct);
        Assert.True(smash.Flagged);
        Assert.True(smash.Violence.Flagged);
        Assert.Equal(1f, smash.Violence.Score);
        Assert.False(smash.Harassment.Flagged);
        ModerationResult rude = await client.ClassifyTextAsync("you are a stupid triangle", Ct);
        Assert.True(rude.Harassment.Flagged);
        Assert.False(rude.Violence.Flagged);
        // A word inside another word does not count.
        ModerationResult smasher = await client.ClassifyTextAsync("draw a smashers circle", Ct);
        Assert.False(smasher.Violence.Flagged);
    }

    [Fact]
    public async Task The_chat_models_answer_to_the_classification_prompt_decides_the_rest()
    {
        using var http = fixture.Factory.CreateClient();
        // The demo classifier: the shapes chat model refuses anything outside its world, and a refusal flags the text.
        var offTopic = await ApiAsserts.PostJson(http, "/v1/moderations", new { input = "tell me about the stock market" });
        var result = offTopic.GetProperty("results")[0];
        Assert.True(result.GetProperty("flagged").GetBoolean());
        Assert.True(result.GetProperty("categories").GetProperty("illicit").GetBoolean());
        var classifier = result.GetProperty("details").GetProperty("classifier");
        Assert.Equal("shapes-chat", classifier.GetProperty("model").GetString());
        Assert.Contains("only know about shapes", classifier.GetProperty("answer").GetString());
        Assert.Equal(0, result.GetProperty("details").GetProperty("rules").GetArrayLength());

        var onTopic = (await ApiAsserts.PostJson(http, "/v1/moderations", new { input = "write a prompt for a picture of a red circle" })).GetProperty("results")[0];
        Assert.False(onTopic.GetProperty("flagged").GetBoolean());
        Assert.False(onTopic.GetProperty("details").GetProperty("classifier").GetProperty("unsafe").GetBoolean());
        Assert.Equal(["text"], onTopic.GetProperty("category_applied_input_types").GetProperty("violence").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task An_array_of_strings_gets_one_result_each_in_order()
    {
        using var http = fixture.Factory.CreateClient();
        var client = Client(http);
        ModerationResultCollection results = await client.ClassifyTextAsync(["a red circle", "explode the star", "you're a dumb square"], Ct);
        Assert.Equal(3, results.Count);
        Assert.Equal([false, true, false], results.Select(r => r.Violence.Flagged));
        Assert.Equal([false, false, true], results.Select(r => r.Harassment.Flagged));
        Assert.StartsWith("modr-", results.Id);
        Assert.Equal("hub-moderation-latest", results.Model);
    }

    [Fact]
    public async Task Images_as_data_urls_go_through_the_clip_concepts()
    {
        using var http = fixture.Factory.CreateClient();
        var client = Client(http);
        var purpleStar = await GeneratedPngAsync(http, "a purple star", 1);
        var redCircle = await GeneratedPngAsync(http, "a red circle", 7);
        ModerationResult star = await client.ClassifyInputsAsync(
            [ModerationInputPart.CreateImagePart(new Uri("data:image/png;base64," + purpleStar)), ModerationInputPart.CreateTextPart("a purple star")], Ct);
        Assert.True(star.Flagged);
        Assert.True(star.Violence.Flagged);
        Assert.True(star.Violence.Score > 0.6f);
        Assert.True(star.Violence.ApplicableInputKinds.HasFlag(ModerationApplicableInputKinds.Image));
        Assert.False(star.Sexual.ApplicableInputKinds.HasFlag(ModerationApplicableInputKinds.Image));
        ModerationResult circle = await client.ClassifyInputsAsync([ModerationInputPart.CreateImagePart(new Uri("data:image/png;base64," + redCircle))], Ct);
        Assert.False(circle.Flagged);
        Assert.True(circle.Violence.Score < 0.6f);
    }

    [Fact]
    public async Task An_uploaded_image_is_checked_too()
    {
        using var http = fixture.Factory.CreateClient();
        var purpleStar = Convert.FromBase64String(await GeneratedPngAsync(http, "a purple star", 2));
        using var form = new MultipartFormDataContent { { new ByteArrayContent(purpleStar), "image", "star.png" }, { new StringContent("a shape"), "input" } };
        using var response = await http.PostAsync("/v1/moderations", form, Ct);
        var result = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("results")[0];
        Assert.True(result.GetProperty("categories").GetProperty("violence").GetBoolean());
        var concept = result.GetProperty("details").GetProperty("images")[0].GetProperty("concepts")[0];
        Assert.Equal("a purple star", concept.GetProperty("concept").GetString());
    }

    [Fact]
    public async Task Bad_requests_are_400_naming_the_field()
    {
        using var http = fixture.Factory.CreateClient();
        async Task Expect(object body, string field)
        {
            using var response = await http.PostAsJsonAsync("/v1/moderations", body, Ct);
            await ApiAsserts.AssertProblem(response, HttpStatusCode.BadRequest, field);
        }
        await Expect(new { model = "x" }, "input");
        await Expect(new { input = 3 }, "input");
        await Expect(new { input = Array.Empty<string>() }, "input");
        await Expect(new { input = new object[] { new { type = "text", text = "a" }, new { type = "video" } } }, "input[1]");
        await Expect(new { input = new object[] { new { type = "image_url", image_url = new { url = "https://example.com/a.png" } } } }, "input[0].image_url.url");
        await Expect(new { input = new object[] { new { type = "image_url", image_url = new { url = "data:image/png;base64,iVBORw0KGgo=" } } } }, "input[0].image_url.url");
        await Expect(new { input = new string('a', 40_000) }, "input");
        await Expect(new { input = Enumerable.Repeat("a", 33).ToArray() }, "input");
    }
}
