using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Tests.Core;

namespace MultimodalHub.Tests.Hardening;

/// <summary>
/// Tiny images of extreme aspect ratio (under the pixel limit) resize, shortest edge first, to millions of pixels
/// along the long side; the service resizes only the centre crop and answers normally.
/// </summary>
public sealed class ExtremeAspectRatioTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string DataUrl(int w, int h) =>
        "data:image/png;base64," + Convert.ToBase64String(ImageCodec.EncodePng(RgbImage.Filled(w, h, 220, 30, 30)));

    [Theory]
    [InlineData(1, 20_000)]
    [InlineData(20_000, 1)]
    [InlineData(10, 100_000)]
    public async Task Classify_and_caption_answer_200(int w, int h)
    {
        using var client = fixture.Factory.CreateClient();
        var image = DataUrl(w, h);
        using var classify = await client.PostAsJsonAsync("/v1/classify", new { images = new[] { image }, labels = new[] { "red circle", "blue square" } }, Ct);
        Assert.True(classify.StatusCode == HttpStatusCode.OK, await classify.Content.ReadAsStringAsync(Ct));
        using var caption = await client.PostAsJsonAsync("/v1/caption", new { image }, Ct);
        var body = await caption.Content.ReadAsStringAsync(Ct);
        Assert.True(caption.StatusCode == HttpStatusCode.OK, body);
        Assert.False(string.IsNullOrWhiteSpace(JsonDocument.Parse(body).RootElement.GetProperty("text").GetString()), body);
    }
}
