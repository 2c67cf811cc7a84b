using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MultimodalHub.Inference.Engines.Clip;
using MultimodalHub.Inference.Runtime;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Clip;

/// <summary>/v1/classify and /v1/embeddings through the real host on the bundled models.</summary>
public sealed class ClipApiTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] GoldenPng(int i) => File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", $"image{i}.png"));

    private static JsonElement Golden(string file) => JsonDocument.Parse(File.ReadAllText(Repo.Model("clip-shapes", "goldens", file))).RootElement;

    private static string DataUrl(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    private HttpClient Client() => fixture.Factory.CreateClient();

    private static MultipartFormDataContent Form(IEnumerable<(string Name, byte[] Bytes)> files, params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, bytes) in files)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(content, "images", name);
        }
        foreach (var (name, value) in fields) form.Add(new StringContent(value), name);
        return form;
    }

    private static async Task<JsonElement> Ok(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    [Fact]
    public async Task Multipart_classify_ranks_each_image_and_gives_the_matrix_and_timings()
    {
        using var client = Client();
        using var form = Form([("red.png", GoldenPng(0)), ("blue.png", GoldenPng(2))],
            ("labels", "red circle, blue triangle, green star"), ("top_k", "2"), ("model", "clip-shapes"));

        var json = await Ok(await client.PostAsync("/v1/classify", form, Ct));

        Assert.Equal("clip-shapes", json.GetProperty("model").GetString());
        var results = json.GetProperty("results");
        Assert.Equal(2, results.GetArrayLength());
        Assert.Equal("red.png", results[0].GetProperty("filename").GetString());
        Assert.Equal("red circle", results[0].GetProperty("labels")[0].GetProperty("label").GetString());
        Assert.Equal("blue triangle", results[1].GetProperty("labels")[0].GetProperty("label").GetString());
        Assert.Equal(2, results[0].GetProperty("labels").GetArrayLength());
        var first = results[0].GetProperty("labels");
        Assert.True(first[0].GetProperty("score").GetSingle() >= first[1].GetProperty("score").GetSingle());
        var similarity = json.GetProperty("similarity");
        Assert.Equal(2, similarity.GetArrayLength());
        Assert.Equal(3, similarity[0].GetArrayLength());
        var timings = json.GetProperty("timings");
        Assert.True(timings.GetProperty("total_ms").GetDouble() > 0);
        Assert.True(timings.GetProperty("image_encode_ms").GetDouble() > 0);
    }

    [Fact]
    public async Task Json_classify_reproduces_the_golden_probability_table()
    {
        var probs = Golden("probs.json");
        var labels = probs.GetProperty("labels").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var expected = probs.GetProperty("probs").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetSingle()).ToArray()).ToArray();
        // data URLs and raw base64 both accepted
        var images = Enumerable.Range(0, 6).Select(i => i % 2 == 0 ? DataUrl(GoldenPng(i)) : Convert.ToBase64String(GoldenPng(i))).ToArray();
        using var client = Client();

        var json = await Ok(await client.PostAsJsonAsync("/v1/classify", new { images, labels, templates = new[] { "a photo of a {}." } }, Ct));

        var probabilities = json.GetProperty("probabilities");
        for (var i = 0; i < 6; i++)
        {
            var row = probabilities[i].EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(expected[i].Length, row.Length);
            Assert.True(row.Zip(expected[i]).All(p => Math.Abs(p.First - p.Second) <= 1e-3f), $"image{i}");
            Assert.Equal(probs.GetProperty("argmax")[i].GetString(), json.GetProperty("results")[i].GetProperty("labels")[0].GetProperty("label").GetString());
        }
        Assert.Equal(probs.GetProperty("logit_scale").GetSingle(), json.GetProperty("logit_scale").GetSingle(), 1e-3f);
    }

    [Fact]
    public async Task Several_templates_are_ensembled_and_label_texts_are_cached()
    {
        using var client = Client();
        var request = new
        {
            images = new[] { DataUrl(GoldenPng(0)) },
            labels = new[] { "red circle", "green square", "blue star" },
            templates = new[] { "a photo of a {}.", "a {label}", "{} on a white background" },
        };
        var first = await Ok(await client.PostAsJsonAsync("/v1/classify", request, Ct));
        var second = await Ok(await client.PostAsJsonAsync("/v1/classify", request, Ct));

        Assert.Equal("red circle", first.GetProperty("results")[0].GetProperty("labels")[0].GetProperty("label").GetString());
        Assert.Equal(3, first.GetProperty("templates").GetArrayLength());
        Assert.Equal(0, second.GetProperty("timings").GetProperty("texts_encoded").GetInt32());
        Assert.Equal(9, second.GetProperty("timings").GetProperty("texts_cached").GetInt32());
        Assert.Equal(first.GetProperty("probabilities").GetRawText(), second.GetProperty("probabilities").GetRawText());
    }

    [Fact]
    public async Task Text_embeddings_are_openai_shaped_and_match_the_golden_normalised()
    {
        var golden = Golden("text.json").GetProperty("strings")[0];
        var expected = ClipScore.Normalize(golden.GetProperty("text_embeds").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        using var client = Client();

        var json = await Ok(await client.PostAsJsonAsync("/v1/embeddings",
            new { model = "clip-shapes", input = new[] { golden.GetProperty("text").GetString(), "a blue star" } }, Ct));

        Assert.Equal("list", json.GetProperty("object").GetString());
        Assert.Equal("clip-shapes", json.GetProperty("model").GetString());
        var data = json.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        Assert.Equal("embedding", data[0].GetProperty("object").GetString());
        Assert.Equal(1, data[1].GetProperty("index").GetInt32());
        var vector = data[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(expected.Length, vector.Length);
        Assert.True(vector.Zip(expected).All(p => Math.Abs(p.First - p.Second) <= 1e-3f));
        Assert.Equal(9 + 5, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32()); // with bos/eos
    }

    [Fact]
    public async Task Image_embeddings_via_input_type_or_images_match_the_golden_normalised()
    {
        var expected = ClipScore.Normalize(NpyArray.Load(Repo.Model("clip-shapes", "goldens", "image3_image_embeds.npy")).Data);
        using var client = Client();

        var viaInput = await Ok(await client.PostAsJsonAsync("/v1/embeddings", new { input = Convert.ToBase64String(GoldenPng(3)), input_type = "image" }, Ct));
        var viaImages = await Ok(await client.PostAsJsonAsync("/v1/embeddings", new { images = new[] { DataUrl(GoldenPng(3)) }, encoding_format = "base64" }, Ct));

        var a = viaInput.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var bytes = Convert.FromBase64String(viaImages.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        var b = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, b, 0, bytes.Length);
        Assert.Equal(expected.Length, a.Length);
        Assert.True(a.Zip(expected).All(p => Math.Abs(p.First - p.Second) <= 1e-3f));
        Assert.Equal(a, b);
    }

    [Fact]
    public async Task The_openai_client_gets_embeddings()
    {
        using var http = Client();
        var client = ApiAsserts.OpenAiClient(http);
        var embedding = await client.GetEmbeddingClient("clip-shapes").GenerateEmbeddingAsync("a photo of a red circle.", cancellationToken: Ct);
        var vector = embedding.Value.ToFloats().ToArray();
        Assert.Equal(64, vector.Length);
        Assert.Equal(1.0, Math.Sqrt(vector.Sum(v => (double)v * v)), 3);
    }

    public static TheoryData<string, object, int, string> JsonErrors() => new()
    {
        { "no labels", new { images = new[] { "IMG" } }, 400, "labels" },
        { "empty label list", new { images = new[] { "IMG" }, labels = Array.Empty<string>() }, 400, "labels" },
        { "1001 labels", new { images = new[] { "IMG" }, labels = Enumerable.Range(0, 1001).Select(i => $"label {i}").ToArray() }, 400, "labels" },
        { "empty label", new { images = new[] { "IMG" }, labels = new[] { "red circle", " " } }, 400, "labels[1]" },
        { "no images", new { labels = new[] { "red circle" } }, 400, "images" },
        { "too many images", new { images = Enumerable.Repeat("IMG", 65).ToArray(), labels = new[] { "red circle" } }, 400, "images" },
        { "not an image", new { images = new[] { "IMG", Convert.ToBase64String(Encoding.UTF8.GetBytes("just some text")) }, labels = new[] { "x" } }, 400, "images[1]" },
        { "bad base64", new { images = new[] { "data:image/png;base64,@@@" }, labels = new[] { "x" } }, 400, "images[0]" },
        { "url", new { images = new[] { "https://example.com/a.png" }, labels = new[] { "x" } }, 400, "images[0]" },
        { "unknown model", new { images = new[] { "IMG" }, labels = new[] { "x" }, model = "no-such-model" }, 404, "model" },
        { "wrong kind of model", new { images = new[] { "IMG" }, labels = new[] { "x" }, model = "shapes-chat" }, 400, "model" },
        { "template without a slot", new { images = new[] { "IMG" }, labels = new[] { "x" }, templates = new[] { "a photo" } }, 400, "templates[0]" },
        { "top_k 0", new { images = new[] { "IMG" }, labels = new[] { "x" }, top_k = 0 }, 400, "top_k" },
    };

    [Theory]
    [MemberData(nameof(JsonErrors))]
    public async Task Classify_errors_are_problem_details_naming_the_field(string name, object body, int status, string field)
    {
        var json = JsonSerializer.Serialize(body).Replace("\"IMG\"", JsonSerializer.Serialize(DataUrl(GoldenPng(0))));
        using var client = Client();
        var response = await client.PostAsync("/v1/classify", new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: {await response.Content.ReadAsStringAsync(Ct)}");
        await ApiAsserts.AssertProblem(response, (HttpStatusCode)status, field);
    }

    [Fact]
    public async Task Multipart_bad_image_names_the_file_field()
    {
        using var client = Client();
        using var form = Form([("ok.png", GoldenPng(0)), ("notes.png", Encoding.UTF8.GetBytes("this is text, not a png"))], ("labels", "red circle"));
        await ApiAsserts.AssertProblem(await client.PostAsync("/v1/classify", form, Ct), HttpStatusCode.BadRequest, "images[1]", "text, not an image");
    }

    [Fact]
    public async Task Multipart_without_labels_is_a_400()
    {
        using var client = Client();
        using var form = Form([("ok.png", GoldenPng(0))]);
        await ApiAsserts.AssertProblem(await client.PostAsync("/v1/classify", form, Ct), HttpStatusCode.BadRequest, "labels");
    }

    [Fact]
    public async Task Unsupported_content_type_is_a_400()
    {
        using var client = Client();
        await ApiAsserts.AssertProblem(await client.PostAsync("/v1/classify", new StringContent("labels=x"), Ct), HttpStatusCode.BadRequest, "body");
    }

    [Theory]
    [InlineData("""{"input": ""}""", 400, "input[0]")]
    [InlineData("""{"input": []}""", 400, "input")]
    [InlineData("""{"input": [1, 2, 3]}""", 400, "input[0]")]
    [InlineData("""{}""", 400, "input")]
    [InlineData("""{"input": "x", "model": "nope"}""", 404, "model")]
    [InlineData("""{"input": "x", "encoding_format": "int8"}""", 400, "encoding_format")]
    [InlineData("""{"input": "x", "dimensions": 12}""", 400, "dimensions")]
    [InlineData("""{"input": "x", "input_type": "audio"}""", 400, "input_type")]
    [InlineData("""{"input": "not base64!", "input_type": "image"}""", 400, "input[0]")]
    [InlineData("""{"input": "x", "images": ["abc"]}""", 400, "images")]
    [InlineData("""{"input": "x",""", 400, "body")]
    public async Task Embeddings_errors_are_problem_details_naming_the_field(string json, int status, string field)
    {
        using var client = Client();
        var response = await client.PostAsync("/v1/embeddings", new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        await ApiAsserts.AssertProblem(response, (HttpStatusCode)status, field);
    }
}
