using MultimodalHub.Inference.Imaging;

namespace MultimodalHub.Tests.Imaging;

/// <summary>ImagePayload.FromBase64: the one parser of base64 / data: URL images in JSON fields.</summary>
public sealed class ImagePayloadTests
{
    private static readonly ImageLimits Limits = new() { MaxBytes = 1000 };
    private static readonly byte[] Bytes = [1, 2, 3, 4, 5, 250];

    [Theory]
    [InlineData("AQIDBAX6")]
    [InlineData("  AQIDBAX6\n")]
    [InlineData("data:image/png;base64,AQIDBAX6")]
    [InlineData("DATA:image/webp;BASE64, AQIDBAX6 ")]
    public void Base64_and_data_urls_decode(string text) => Assert.Equal(Bytes, ImagePayload.FromBase64(text, "image", Limits));

    [Theory]
    [InlineData(null, "required")]
    [InlineData("  ", "required")]
    [InlineData("https://example.com/cat.png", "not fetched")]
    [InlineData("http://example.com/cat.png", "not fetched")]
    [InlineData("data:image/png,rawbytes", "base64 encoded")]
    [InlineData("data:image/png;base64", "base64 encoded")]
    [InlineData("%%%not-base64%%%", "not valid base64")]
    public void Bad_payloads_are_rejected_with_a_clear_message(string? text, string part)
    {
        var e = Assert.Throws<ImageRejectedException>(() => ImagePayload.FromBase64(text, "init_image", Limits));
        Assert.Equal("init_image", e.Field);
        Assert.Contains(part, e.Message);
    }

    [Fact]
    public void Too_large_is_rejected_before_decoding()
    {
        // Not even valid base64: the size alone rejects it.
        var e = Assert.Throws<ImageRejectedException>(() => ImagePayload.FromBase64(new string('%', 2000), "image", Limits));
        Assert.Contains("Limits:Images:MaxBytes", e.Message);
        // Just under the limit decodes.
        Assert.Equal(999, ImagePayload.FromBase64(Convert.ToBase64String(new byte[999]), "image", Limits).Length);
    }
}
