using System.Net.Http.Json;
using System.Text.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Components.Pages;
using MultimodalHub.Web.Components.Shared;

namespace MultimodalHub.Tests.Web;

/// <summary>Describe with the real VLM: a new image while a caption streams stops the old stream cleanly and the
/// page shows the new image's caption only.</summary>
public sealed class DescribeSwitchTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    [Fact]
    public async Task Changing_the_image_while_a_caption_streams_shows_only_the_new_caption_and_leaves_no_run_running()
    {
        using var api = inference.Factory.CreateClient();
        // The real service, seen over a slow link: streamed answers arrive a chunk every 40 ms, so the first caption is
        // still streaming when the second image arrives.
        var slow = new SlowStreams { InnerHandler = inference.Factory.Server.CreateHandler() };
        await using var ctx = await WebTestContext.StartAsync(new HttpClient(slow) { BaseAddress = inference.Factory.Server.BaseAddress });
        var blobs = ctx.Services.GetRequiredService<IBlobStore>();
        var runs = ctx.Services.GetRequiredService<IRunStore>();
        var circle = await ctx.PutGoldenAsync("shapes-vlm", "g1_red_circle_caption.png");
        var triangleBytes = await File.ReadAllBytesAsync(Repo.Model("shapes-vlm", "goldens", "g3_triangle_color.png"), Ct);
        var triangle = await blobs.PutAsync(triangleBytes, MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var expected = await CaptionAsync(api, triangleBytes);

        var page = ctx.Render<Describe>();
        var input = page.FindComponent<ImageInput>().Instance;

        // First image; at its first streamed words (the stream is under way), the second image.
        Task? second = null;
        page.OnMarkupUpdated += (_, _) =>
        {
            if (second is null && page.Find("[data-testid=caption]").TextContent.Trim().Length > 0)
                second = page.InvokeAsync(() => input.OnImage.InvokeAsync(triangle));
        };
        await page.InvokeAsync(() => input.OnImage.InvokeAsync(circle));
        for (var i = 0; i < 300 && second is null; i++) await Task.Delay(10, Ct);
        Assert.NotNull(second);
        await second;

        page.WaitForAssertion(() => Assert.Equal(expected, page.Find("[data-testid=caption]").TextContent.Trim()), TimeSpan.FromSeconds(30));
        Assert.Empty(page.FindAll("[data-testid=describe-error]"));
        Assert.Contains(triangle.Sha256, page.Find("[data-testid=describe-image]").GetAttribute("src"));
        var all = (await runs.ListAsync(new RunQuery() { Owner = OwnerScope.Local }, Ct)).Items;
        Assert.DoesNotContain(all, r => r.Status is RunStatus.Running or RunStatus.Queued);
        Assert.Equal(RunStatus.Cancelled, all.OrderBy(r => r.Id).First().Status); // the first caption was stopped
        var last = all.OrderByDescending(r => r.Id).First();
        Assert.Equal(RunStatus.Succeeded, last.Status);
        Assert.Equal(expected, last.OutputText);
    }

    private static async Task<string> CaptionAsync(HttpClient api, byte[] png)
    {
        var response = await api.PostAsJsonAsync("/v1/caption", new { image = "data:image/png;base64," + Convert.ToBase64String(png) }, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("text").GetString()!;
    }

    private sealed class SlowStreams : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var response = await base.SendAsync(request, ct);
            if (response.Content.Headers.ContentType?.MediaType != "text/event-stream") return response;
            var slow = new StreamContent(new SlowStream(await response.Content.ReadAsStreamAsync(ct)));
            foreach (var h in response.Content.Headers) slow.Headers.TryAddWithoutValidation(h.Key, h.Value);
            response.Content = slow;
            return response;
        }
    }

    private sealed class SlowStream(Stream inner) : Stream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            await Task.Delay(40, ct);
            return await inner.ReadAsync(buffer[..Math.Min(buffer.Length, 64)], ct);
        }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
    }
}
