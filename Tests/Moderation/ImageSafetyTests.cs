using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Moderation;

/// <summary>The image safety check on generated images, through the real host on sd-shapes and clip-shapes.</summary>
public sealed class ImageSafetyTests(SafetyFixture fixture) : IClassFixture<SafetyFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<JsonElement> GenerateAsync(HttpClient client, string prompt, long seed, int n = 1)
    {
        var response = await client.PostAsJsonAsync("/v1/images/generations", new JsonObject { ["prompt"] = prompt, ["seed"] = seed, ["n"] = n }, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement;
    }

    private static Dictionary<string, JsonElement> Concepts(JsonElement safety) =>
        safety.GetProperty("concepts").EnumerateArray().ToDictionary(c => c.GetProperty("concept").GetString()!);

    [Fact]
    public async Task A_red_star_is_flagged_by_the_red_star_concept_and_not_by_the_blue_circle()
    {
        using var client = fixture.Factory.CreateClient();
        var result = await GenerateAsync(client, "a red star", seed: 3);
        var safety = result.GetProperty("data")[0].GetProperty("safety");
        Assert.True(safety.GetProperty("checked").GetBoolean());
        Assert.True(safety.GetProperty("flagged").GetBoolean());
        Assert.Equal("clip-shapes", safety.GetProperty("model").GetString());
        var concepts = Concepts(safety);
        Assert.True(concepts["a red star"].GetProperty("flagged").GetBoolean());
        Assert.Equal("violence", concepts["a red star"].GetProperty("category").GetString());
        Assert.False(concepts["a blue circle"].GetProperty("flagged").GetBoolean());
        Assert.True(concepts["a red star"].GetProperty("similarity").GetDouble() > concepts["a blue circle"].GetProperty("similarity").GetDouble() + 0.3);
    }

    [Fact]
    public async Task A_blue_circle_is_flagged_only_by_the_blue_circle_and_a_green_square_by_nothing()
    {
        using var client = fixture.Factory.CreateClient();
        var circle = Concepts((await GenerateAsync(client, "a blue circle", seed: 1)).GetProperty("data")[0].GetProperty("safety"));
        Assert.True(circle["a blue circle"].GetProperty("flagged").GetBoolean());
        Assert.False(circle["a red star"].GetProperty("flagged").GetBoolean());
        var square = (await GenerateAsync(client, "a green square", seed: 1)).GetProperty("data")[0].GetProperty("safety");
        Assert.True(square.GetProperty("checked").GetBoolean());
        Assert.False(square.GetProperty("flagged").GetBoolean());
    }

    [Fact]
    public async Task The_reported_similarity_is_the_cosine_of_the_clip_embeddings_of_image_and_concept()
    {
        using var client = fixture.Factory.CreateClient();
        var image = (await GenerateAsync(client, "a red star", seed: 2)).GetProperty("data")[0];
        var png = image.GetProperty("b64_json").GetString()!;
        var imageVector = await EmbedAsync(client, new JsonObject { ["model"] = "clip-shapes", ["input"] = new JsonArray(png), ["input_type"] = "image" });
        var textVector = await EmbedAsync(client, new JsonObject { ["model"] = "clip-shapes", ["input"] = new JsonArray("a red star") });
        var cosine = imageVector.Zip(textVector, (a, b) => a * b).Sum();
        Assert.Equal(cosine, Concepts(image.GetProperty("safety"))["a red star"].GetProperty("similarity").GetDouble(), 3);
    }

    [Fact]
    public async Task Moderations_flag_a_red_star_image_for_the_red_stars_category_only()
    {
        using var client = fixture.Factory.CreateClient();
        var png = (await GenerateAsync(client, "a red star", seed: 3)).GetProperty("data")[0].GetProperty("b64_json").GetString();
        var response = await client.PostAsJsonAsync("/v1/moderations", new JsonObject
        {
            ["input"] = new JsonArray(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "data:image/png;base64," + png } }),
        }, Ct);
        var result = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("results")[0];
        Assert.True(result.GetProperty("categories").GetProperty("violence").GetBoolean()); // "a red star"
        Assert.False(result.GetProperty("categories").GetProperty("sexual").GetBoolean()); // "a blue circle"
        Assert.Equal(["image"], result.GetProperty("category_applied_input_types").GetProperty("sexual").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(result.GetProperty("category_applied_input_types").GetProperty("hate").EnumerateArray());
    }

    [Fact]
    public async Task Job_image_events_carry_the_verdict_before_completion()
    {
        using var client = fixture.Factory.CreateClient();
        var submitted = await client.PostAsJsonAsync("/v1/images/jobs", new JsonObject { ["prompt"] = "a red star", ["seed"] = 3, ["steps"] = 20 }, Ct);
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString();
        var events = await client.GetStringAsync($"/v1/images/jobs/{id}/events", Ct);
        var imageEvent = events.Split("\n\n").Single(e => e.StartsWith("event: image", StringComparison.Ordinal));
        var data = JsonDocument.Parse(imageEvent.Split("data: ", 2)[1]).RootElement;
        Assert.True(data.GetProperty("data").GetProperty("safety").GetProperty("flagged").GetBoolean());
    }

    [Fact]
    public async Task The_shipped_demo_set_flags_a_purple_star_and_not_a_red_circle()
    {
        using var factory = new InferenceFactory();
        using var client = factory.CreateClient();
        var star = (await GenerateAsync(client, "a purple star", seed: 1)).GetProperty("data")[0].GetProperty("safety");
        Assert.True(star.GetProperty("flagged").GetBoolean());
        Assert.Equal("a purple star", Assert.Single(star.GetProperty("concepts").EnumerateArray()).GetProperty("concept").GetString());
        var circle = (await GenerateAsync(client, "a red circle", seed: 7)).GetProperty("data")[0].GetProperty("safety");
        Assert.False(circle.GetProperty("flagged").GetBoolean());
    }

    [Fact]
    public async Task With_the_check_off_images_carry_no_verdict()
    {
        using var factory = new InferenceFactory(settings: new Dictionary<string, string> { ["Safety:Enabled"] = "false" });
        using var client = factory.CreateClient();
        var image = (await GenerateAsync(client, "a purple star", seed: 1)).GetProperty("data")[0];
        Assert.False(image.TryGetProperty("safety", out _));
    }

    [Fact]
    public async Task Without_a_clip_model_images_are_reported_unchecked_or_refused_when_required()
    {
        var root = Path.Combine(Path.GetTempPath(), "hub-safety-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            // A models root holding only the diffusion model (a symbolic link to the bundled folder).
            Directory.CreateSymbolicLink(Path.Combine(root, "sd-shapes"), Repo.Model("sd-shapes"));
            using (var factory = new InferenceFactory(root))
            {
                using var client = factory.CreateClient();
                var safety = (await GenerateAsync(client, "a purple star", seed: 1)).GetProperty("data")[0].GetProperty("safety");
                Assert.False(safety.GetProperty("checked").GetBoolean());
                Assert.False(safety.GetProperty("flagged").GetBoolean());
            }
            using (var required = new InferenceFactory(root, settings: new Dictionary<string, string> { ["Safety:Required"] = "true" }))
            {
                using var client = required.CreateClient();
                var response = await client.PostAsJsonAsync("/v1/images/generations", new JsonObject { ["prompt"] = "a purple star", ["seed"] = 1 }, Ct);
                Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Contains("safety check", await response.Content.ReadAsStringAsync(Ct));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<float[]> EmbedAsync(HttpClient client, JsonObject body)
    {
        var response = await client.PostAsJsonAsync("/v1/embeddings", body, Ct);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        return json.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
    }
}
