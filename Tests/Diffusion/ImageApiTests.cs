using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultimodalHub.Tests.Core;

namespace MultimodalHub.Tests.Diffusion;

/// <summary>The image API through the real host (InferenceFactory) on sd-shapes.</summary>
public sealed class ImageApiTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonObject Body(string prompt = "a red circle", int steps = 6, long? seed = 5, string scheduler = "ddim")
    {
        var body = new JsonObject { ["prompt"] = prompt, ["steps"] = steps, ["scheduler"] = scheduler, ["size"] = "64x64" };
        if (seed is { } s) body["seed"] = s;
        return body;
    }

    private async Task<JsonElement> GenerateAsync(HttpClient client, JsonObject body)
    {
        var response = await client.PostAsJsonAsync("/v1/images/generations", body, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement;
    }

    private static byte[] Png(JsonElement response, int i = 0) =>
        Convert.FromBase64String(response.GetProperty("data")[i].GetProperty("b64_json").GetString()!);

    [Fact]
    public async Task Generates_a_png_of_the_requested_size_and_reports_every_parameter()
    {
        using var client = fixture.Factory.CreateClient();
        var result = await GenerateAsync(client, Body());
        var png = Png(result);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);
        Assert.Equal(64, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(64, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.Contains("Steps: 6, Sampler: DDIM, CFG scale: 7.5, Seed: 5, Size: 64x64", System.Text.Encoding.Latin1.GetString(png));
        var p = result.GetProperty("parameters");
        Assert.Equal("sd-shapes", p.GetProperty("model").GetString());
        Assert.Equal(5, p.GetProperty("seed").GetInt64());
        Assert.Equal(6, p.GetProperty("steps").GetInt32());
        Assert.Equal(7.5, p.GetProperty("guidance_scale").GetDouble());
        Assert.Equal("ddim", p.GetProperty("scheduler").GetString());
        Assert.Equal(6, p.GetProperty("timesteps").GetArrayLength());
        Assert.Equal(5, result.GetProperty("data")[0].GetProperty("seed").GetInt64());
        Assert.Equal(6, result.GetProperty("timings").GetProperty("unet_runs").GetInt32());
    }

    [Fact]
    public async Task Same_seed_gives_identical_bytes_and_another_seed_another_image()
    {
        using var client = fixture.Factory.CreateClient();
        var a = Png(await GenerateAsync(client, Body(seed: 42, scheduler: "euler_a")));
        var b = Png(await GenerateAsync(client, Body(seed: 42, scheduler: "euler_a")));
        var c = Png(await GenerateAsync(client, Body(seed: 43, scheduler: "euler_a")));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public async Task Batch_uses_seed_plus_i_and_each_image_is_reproducible_alone()
    {
        using var client = fixture.Factory.CreateClient();
        var body = Body(seed: 100);
        body["n"] = 2;
        var batch = await GenerateAsync(client, body);
        Assert.Equal([100L, 101L], batch.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("seed").GetInt64()));
        var single = await GenerateAsync(client, Body(seed: 101));
        Assert.Equal(Png(single), Png(batch, 1));
    }

    [Fact]
    public async Task Without_a_seed_a_random_one_is_reported_and_reproduces_the_image()
    {
        using var client = fixture.Factory.CreateClient();
        var first = await GenerateAsync(client, Body(seed: null));
        var seed = first.GetProperty("data")[0].GetProperty("seed").GetInt64();
        var again = await GenerateAsync(client, Body(seed: seed));
        Assert.Equal(Png(first), Png(again));
    }

    [Fact]
    public async Task Negative_prompt_changes_the_image()
    {
        using var client = fixture.Factory.CreateClient();
        var plain = Png(await GenerateAsync(client, Body("a blue star", seed: 13)));
        var body = Body("a blue star", seed: 13);
        body["negative_prompt"] = "a white background";
        Assert.NotEqual(plain, Png(await GenerateAsync(client, body)));
    }

    [Theory]
    [InlineData("steps", 0)]
    [InlineData("steps", 151)]
    [InlineData("guidance_scale", 31)]
    [InlineData("guidance_scale", -1)]
    [InlineData("n", 0)]
    [InlineData("n", 9)]
    [InlineData("seed", -1)]
    [InlineData("size", "65x64")]
    [InlineData("size", "big")]
    [InlineData("size", "4096x4096")]
    [InlineData("size", "32x32")]
    [InlineData("size", "64x72")]
    [InlineData("scheduler", "bogus")]
    [InlineData("response_format", "url")]
    [InlineData("prompt", "")]
    [InlineData("prompt", "   ")]
    [InlineData("strength", 0.5)]
    [InlineData("steps", "many")]
    [InlineData("init_image", "not base64!")]
    [InlineData("init_image", "aGVsbG8=")]
    public async Task Bad_parameters_are_400_naming_the_field(string field, object value)
    {
        using var client = fixture.Factory.CreateClient();
        var body = Body();
        body[field] = JsonSerializer.SerializeToNode(value);
        var response = await client.PostAsJsonAsync("/v1/images/generations", body, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, JsonDocument.Parse(text).RootElement.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Too_long_prompt_is_400_but_a_long_one_is_truncated_at_77_tokens_and_reported()
    {
        using var client = fixture.Factory.CreateClient();
        var response = await client.PostAsJsonAsync("/v1/images/generations", Body(new string('a', 4001)), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var longPrompt = string.Join(" ", Enumerable.Repeat("a red circle", 40));
        var result = await GenerateAsync(client, Body(longPrompt, steps: 1));
        var revised = result.GetProperty("data")[0].GetProperty("revised_prompt").GetString()!;
        Assert.StartsWith("a red circle a red circle", revised);
        Assert.True(revised.Length < longPrompt.Length);
        var fits = await GenerateAsync(client, Body("a red circle", steps: 1));
        Assert.True(!fits.GetProperty("data")[0].TryGetProperty("revised_prompt", out var none) || none.ValueKind == JsonValueKind.Null);
    }

    [Fact]
    public async Task Unknown_model_is_404_and_a_non_diffusion_model_400()
    {
        using var client = fixture.Factory.CreateClient();
        var body = Body();
        body["model"] = "no-such-model";
        var response = await client.PostAsJsonAsync("/v1/images/generations", body, Ct);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        body["model"] = "clip-shapes";
        response = await client.PostAsJsonAsync("/v1/images/generations", body, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Img2img_with_strength_runs_the_tail_of_the_schedule_and_keeps_the_picture()
    {
        using var client = fixture.Factory.CreateClient();
        var source = await GenerateAsync(client, Body("a red circle", steps: 20, seed: 11));
        var body = Body("a red circle", steps: 20, seed: 1);
        body["init_image"] = source.GetProperty("data")[0].GetProperty("b64_json").GetString();
        body["strength"] = 0.3;
        var result = await GenerateAsync(client, body);
        Assert.Equal(6, result.GetProperty("timings").GetProperty("unet_runs").GetInt32());
        Assert.True(result.GetProperty("parameters").GetProperty("img2img").GetBoolean());
        Assert.Equal(new[] { 251, 201, 151, 101, 51, 1 }, result.GetProperty("parameters").GetProperty("timesteps").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task Non_square_sizes_work()
    {
        using var client = fixture.Factory.CreateClient();
        var body = Body(steps: 2);
        body["size"] = "96x64";
        var png = Png(await GenerateAsync(client, body));
        Assert.Equal(96, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(64, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    [Fact]
    public async Task Schedulers_are_listed()
    {
        using var client = fixture.Factory.CreateClient();
        var json = JsonDocument.Parse(await client.GetStringAsync("/v1/schedulers", Ct)).RootElement;
        var names = json.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToList();
        Assert.Equal(["ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm"], names);
    }

    [Theory]
    [InlineData("dpm++2m")]
    [InlineData("dpmpp_2m_karras")]
    [InlineData("lcm")]
    [InlineData("Euler-A")]
    public async Task Every_scheduler_produces_an_image(string scheduler)
    {
        using var client = fixture.Factory.CreateClient();
        var result = await GenerateAsync(client, Body(steps: 4, scheduler: scheduler));
        Assert.NotEmpty(Png(result));
    }
}
