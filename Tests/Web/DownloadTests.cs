using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Hosting;

namespace MultimodalHub.Tests.Web;

/// <summary>The download endpoint serves generated PNGs exactly as the inference service made them: one "parameters"
/// chunk per image, carrying that image's own seed (no second chunk added by the web app).</summary>
public sealed class DownloadTests(InferenceFixture inference) : IClassFixture<InferenceFixture>, IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private DataTestHost _web = null!;

    public async ValueTask InitializeAsync() => _web = await DataTestHost.StartAsync(null, app => app.MapHubWebEndpoints(), Ct);

    public ValueTask DisposeAsync() => _web.DisposeAsync();

    [Fact]
    public async Task Each_image_of_a_batch_downloads_with_exactly_one_parameters_chunk_and_its_own_seed()
    {
        using var service = inference.Factory.CreateClient();
        var response = await service.PostAsJsonAsync("/v1/images/generations",
            new { prompt = "a red circle", n = 2, steps = 2, seed = 41, size = "64x64", scheduler = "euler_a", response_format = "b64_json" }, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        var data = JsonDocument.Parse(body).RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(2, data.Count);

        var blobs = _web.Services.GetRequiredService<IBlobStore>();
        var runs = _web.Services.GetRequiredService<IRunStore>();
        var stored = new List<(string Sha, long Seed)>();
        foreach (var d in data)
            stored.Add(((await blobs.PutAsync(Convert.FromBase64String(d.GetProperty("b64_json").GetString()!), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256, d.GetProperty("seed").GetInt64()));
        Assert.NotEqual(stored[0].Seed, stored[1].Seed);
        var run = await runs.CreateAsync(new NewRun(RunKind.Imagine, "sd-shapes", "a red circle", ParametersJson: """{"seed":41,"n":2}""") { OwnerId = Owner.LocalId }, Ct);
        await runs.MarkRunningAsync(run.Id, Ct);
        await runs.MarkSucceededAsync(run.Id, new RunOutputs(OutputImages: stored.Select(s => s.Sha).ToList()), Ct);

        foreach (var (sha, seed) in stored)
        {
            var download = await _web.Client.GetAsync($"/media/{sha}/download?run={run.Id}", Ct);
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal("image/png", download.Content.Headers.ContentType?.MediaType);
            Assert.EndsWith(".png", download.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
            var png = await download.Content.ReadAsByteArrayAsync(Ct);
            var parameters = TextChunks(png).Where(c => c.Keyword == "parameters").Select(c => c.Text).ToList();
            var text = Assert.Single(parameters);
            Assert.Contains($"Seed: {seed}", text);
            Assert.StartsWith("a red circle", text);
        }
    }

    [Fact]
    public async Task Unknown_image_is_404()
    {
        var response = await _web.Client.GetAsync($"/media/{new string('a', 64)}/download", Ct);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    /// <summary>Every tEXt/iTXt chunk in file order (duplicates kept, unlike a keyword dictionary).</summary>
    private static List<(string Keyword, string Text)> TextChunks(byte[] png)
    {
        var chunks = new List<(string, string)>();
        for (var at = 8; at + 12 <= png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var type = Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length);
            var zero = data.IndexOf((byte)0);
            if (type == "tEXt" && zero > 0)
                chunks.Add((Encoding.Latin1.GetString(data[..zero]), Encoding.Latin1.GetString(data[(zero + 1)..])));
            else if (type == "iTXt" && zero > 0)
            {
                // keyword \0 flag method language \0 translated \0 text
                var rest = data[(zero + 3)..];
                var lang = rest.IndexOf((byte)0);
                var translated = rest[(lang + 1)..].IndexOf((byte)0);
                chunks.Add((Encoding.Latin1.GetString(data[..zero]), Encoding.UTF8.GetString(rest[(lang + 1 + translated + 1)..])));
            }
            at += 12 + length;
        }
        return chunks;
    }
}
