using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Hardening;

/// <summary>
/// Hostile and broken input, as data: every case gets a 4xx problem-details answer with a readable message, and the
/// service stays healthy afterwards (/readyz OK, the next valid request succeeds).
/// </summary>
public sealed class BadInputCatalogueTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public sealed record Case(string Name, string Route, Func<HttpContent> Body, int[] Statuses, string? Field = null, string? MessagePart = null)
    {
        public override string ToString() => Name;
    }

    /// <summary>A real PNG (the clip-shapes golden image0).</summary>
    private static byte[] Png() => File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", "image0.png"));

    /// <summary>A real PNG whose IHDR is rewritten (with a correct CRC) to claim w×h; unlike TestImages.PngClaiming it
    /// keeps the real image data.</summary>
    private static byte[] PngClaiming(int w, int h)
    {
        var png = File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", "image0.png"));
        void BE(int offset, int v) { png[offset] = (byte)(v >> 24); png[offset + 1] = (byte)(v >> 16); png[offset + 2] = (byte)(v >> 8); png[offset + 3] = (byte)v; }
        BE(16, w);
        BE(20, h);
        BE(29, (int)System.IO.Hashing.Crc32.HashToUInt32(png.AsSpan(12, 17)));
        return png;
    }

    private static string DataUrl(byte[] bytes, string mime = "image/png") => $"data:{mime};base64,{Convert.ToBase64String(bytes)}";

    private static HttpContent Json(object body) => new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static HttpContent Raw(string text, string contentType) => new StringContent(text, Encoding.UTF8, contentType);

    private static HttpContent Bytes(byte[] bytes, string contentType)
    {
        var c = new ByteArrayContent(bytes);
        c.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return c;
    }

    private static HttpContent Upload(byte[] bytes, string fileName, string contentType)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        form.Add(file, "image", fileName);
        form.Add(new StringContent("red circle,blue square"), "labels");
        return form;
    }

    private static HttpContent Classify(string image) => Json(new { images = new[] { image }, labels = new[] { "red circle", "blue square" } });

    private static readonly string Megabyte = new('a', 1 << 20);

    public static TheoryData<Case> Cases() =>
    [
        // images
        new Case("truncated PNG upload", "/v1/classify", () => Upload(Png()[..60], "a.png", "image/png"), [400], "images", "truncated"),
        new Case("PNG claiming 100000x100000", "/v1/classify", () => Upload(PngClaiming(100_000, 100_000), "big.png", "image/png"), [400, 413], "images", "pixels"),
        new Case("zero-byte file", "/v1/classify", () => Upload([], "empty.png", "image/png"), [400], "images"),
        new Case("text file named .png", "/v1/classify", () => Upload(Encoding.UTF8.GetBytes("hello, I am not a picture"), "note.png", "image/png"), [400], "images"),
        new Case("SVG", "/v1/classify", () => Upload(Encoding.UTF8.GetBytes("<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>"), "x.svg", "image/svg+xml"), [400], "images"),
        new Case("enormous base64 image", "/v1/classify", () => Classify(DataUrl(new byte[24 * 1024 * 1024])), [400, 413]),
        new Case("base64 that is not base64", "/v1/classify", () => Classify("data:image/png;base64,%%%not-base64%%%"), [400], "images"),
        new Case("image in chat that is not an image", "/v1/chat/completions", () => Json(new
        {
            messages = new object[] { new { role = "user", content = new object[] { new { type = "image_url", image_url = new { url = DataUrl(Encoding.UTF8.GetBytes("nope")) } }, new { type = "text", text = "what is it?" } } } },
        }), [400]),
        new Case("caption of an http URL", "/v1/caption", () => Json(new { image = "https://example.com/cat.png" }), [400], "image", "not fetched"),
        new Case("init_image that is an http URL", "/v1/images/generations", () => Json(new { prompt = "a red circle", init_image = "https://example.com/cat.png" }), [400], "init_image", "not fetched"),
        new Case("init_image that is not base64", "/v1/images/generations", () => Json(new { prompt = "a red circle", init_image = "data:image/png;base64,%%%" }), [400], "init_image", "base64"),
        new Case("caption of a truncated PNG", "/v1/caption", () => Json(new { image = DataUrl(Png()[..80]) }), [400], "image"),
        // classify parameters
        new Case("no labels", "/v1/classify", () => Json(new { images = new[] { DataUrl(Png()) }, labels = Array.Empty<string>() }), [400], "labels"),
        new Case("empty label", "/v1/classify", () => Json(new { images = new[] { DataUrl(Png()) }, labels = new[] { "red circle", " " } }), [400], "labels"),
        new Case("1,001 labels", "/v1/classify", () => Json(new { images = new[] { DataUrl(Png()) }, labels = Enumerable.Range(0, 1001).Select(i => $"label {i}").ToArray() }), [400], "labels"),
        new Case("unknown classify model", "/v1/classify", () => Json(new { images = new[] { DataUrl(Png()) }, labels = new[] { "a" }, model = "no-such-model" }), [404], "model"),
        // text and numbers
        new Case("1 MB image prompt", "/v1/images/generations", () => Json(new { prompt = Megabyte }), [400], "prompt"),
        new Case("empty image prompt", "/v1/images/generations", () => Json(new { prompt = "  " }), [400], "prompt"),
        new Case("negative steps", "/v1/images/generations", () => Json(new { prompt = "a red circle", steps = -1 }), [400], "steps"),
        new Case("huge steps", "/v1/images/generations", () => Json(new { prompt = "a red circle", steps = 1_000_000_000 }), [400], "steps"),
        new Case("huge guidance", "/v1/images/generations", () => Json(new { prompt = "a red circle", guidance_scale = 1e308 }), [400], "guidance_scale"),
        new Case("NaN guidance (not JSON)", "/v1/images/generations", () => Raw("{\"prompt\":\"a red circle\",\"guidance_scale\":NaN}", "application/json"), [400]),
        new Case("n too large", "/v1/images/generations", () => Json(new { prompt = "a red circle", n = 1000 }), [400], "n"),
        new Case("size not a size", "/v1/images/generations", () => Json(new { prompt = "a red circle", size = "huge" }), [400], "size"),
        new Case("unknown scheduler", "/v1/images/generations", () => Json(new { prompt = "a red circle", scheduler = "warp-drive" }), [400], "scheduler"),
        new Case("unknown image model", "/v1/images/generations", () => Json(new { prompt = "a red circle", model = "no-such-model" }), [404], "model"),
        new Case("1 MB chat message", "/v1/chat/completions", () => Json(new { messages = new[] { new { role = "user", content = Megabyte } } }), [400]),
        new Case("no messages", "/v1/chat/completions", () => Json(new { messages = Array.Empty<object>() }), [400], "messages"),
        new Case("bad role", "/v1/chat/completions", () => Json(new { messages = new[] { new { role = "wizard", content = "hi" } } }), [400]),
        new Case("negative temperature", "/v1/chat/completions", () => Json(new { messages = new[] { new { role = "user", content = "hi" } }, temperature = -1 }), [400], "temperature"),
        new Case("huge max_tokens", "/v1/chat/completions", () => Json(new { messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 2_000_000_000 }), [400], "max_tokens"),
        new Case("n = 0", "/v1/chat/completions", () => Json(new { messages = new[] { new { role = "user", content = "hi" } }, n = 0 }), [400], "n"),
        new Case("unknown chat model", "/v1/chat/completions", () => Json(new { model = "no-such-model", messages = new[] { new { role = "user", content = "hi" } } }), [404], "model"),
        // bodies
        new Case("malformed JSON", "/v1/chat/completions", () => Raw("{\"messages\": [", "application/json"), [400], "messages"),
        new Case("unknown enum value", "/v1/chat/completions", () => Raw("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"preset\": \"wizard\"}", "application/json"), [400], "preset"),
        new Case("invalid UTF-8", "/v1/chat/completions", () => Bytes([0x7B, 0x22, 0x6D, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0xFF, 0x22, 0x7D], "application/json"), [400]),
        new Case("JSON of the wrong shape", "/v1/images/generations", () => Raw("[1,2,3]", "application/json"), [400], "body"),
        new Case("wrong content type", "/v1/images/generations", () => Raw("prompt=a red circle", "text/plain"), [400, 415]),
        new Case("empty body", "/v1/chat/completions", () => Raw("", "application/json"), [400], "body"),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_bad_input_gets_a_clear_4xx_and_the_service_stays_healthy(Case c)
    {
        using var client = fixture.Factory.CreateClient();
        using var response = await client.PostAsync(c.Route, c.Body(), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.True(c.Statuses.Contains((int)response.StatusCode), $"{c.Name}: got {(int)response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() : problem.GetProperty("title").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail), $"{c.Name}: no message in {body}");
        Assert.DoesNotContain("   at ", body); // no stack traces
        if (c.Field is not null)
        {
            // the field, or one element of it ("images[0]", "labels[1]")
            var named = problem.TryGetProperty("errors", out var errors)
                && errors.EnumerateObject().Any(e => e.Name == c.Field || e.Name.StartsWith(c.Field + "[", StringComparison.Ordinal));
            Assert.True(named, $"{c.Name}: field '{c.Field}' not named in {body}");
        }
        if (c.MessagePart is not null) Assert.Contains(c.MessagePart, detail, StringComparison.OrdinalIgnoreCase);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz", Ct)).StatusCode);
        var ok = await client.PostAsync("/v1/classify", Classify(DataUrl(Png())), Ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}
