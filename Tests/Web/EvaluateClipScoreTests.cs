using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Core;
using MultimodalHub.Web.Components.Pages;
using MultimodalHub.Web.Services;

namespace MultimodalHub.Tests.Web;

/// <summary>The Evaluate page's CLIP score tab: images made by the real diffusion model and stored as runs, scored with
/// the real CLIP model, each setting's mean recomputed here from /v1/classify's cosine similarities (another route to
/// the same towers), beside the Elo entry an A/B vote gave.</summary>
public sealed class EvaluateClipScoreTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    private sealed record Setting(int Steps, double Guidance, string Scheduler);

    [Fact]
    public async Task Each_setting_gets_the_mean_clip_score_of_its_images_and_its_elo_rating()
    {
        using var api = inference.Factory.CreateClient();
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var runs = ctx.Services.GetRequiredService<IRunStore>();
        var blobs = ctx.Services.GetRequiredService<IBlobStore>();
        Setting good = new(12, 7.5, "euler"), poor = new(1, 1.0, "ddim");
        string[] prompts = ["a red circle", "a blue star on a black background"];
        var expected = new Dictionary<string, List<double>>();
        var made = new Dictionary<(string, Setting), (long Run, string Sha)>();
        foreach (var setting in new[] { good, poor })
            foreach (var prompt in prompts)
            {
                var png = await GenerateAsync(api, prompt, setting);
                var image = await blobs.PutAsync(png, Owner.LocalId, Ct);
                var parameters = RunText.ToJson(new { prompt, steps = setting.Steps, guidance_scale = setting.Guidance, scheduler = setting.Scheduler, seed = 7 });
                var run = await runs.CreateAsync(new NewRun(RunKind.Imagine, "sd-shapes", prompt, ParametersJson: parameters) { OwnerId = Owner.LocalId }, Ct);
                Assert.True(await runs.MarkSucceededAsync(run.Id, new RunOutputs(OutputImages: [image.Sha256]), Ct));
                var contender = RunText.Contender("sd-shapes", parameters);
                expected.TryAdd(contender, []);
                expected[contender].Add(100 * Math.Max(await CosineAsync(api, png, prompt), 0));
                made[(prompt, setting)] = (run.Id, image.Sha256);
            }
        // One A/B vote: the 12-step image of the first prompt beats the 1-step one.
        var ratings = ctx.Services.GetRequiredService<IRatingService>();
        var (goodRun, goodSha) = made[(prompts[0], good)];
        var (poorRun, poorSha) = made[(prompts[0], poor)];
        await ratings.RecordAbVoteAsync(OwnerScope.Local, prompts[0], new AbCandidate(goodSha, goodRun, Contender(good)), new AbCandidate(poorSha, poorRun, Contender(poor)), AbWinner.A, Ct);

        var page = ctx.Render<Evaluate>();
        page.WaitForAssertion(() => Assert.False(page.Find("button[data-testid=clip-compute]").HasAttribute("disabled")), TimeSpan.FromSeconds(30));
        await page.InvokeAsync(() => page.Find("button[data-testid=clip-compute]").Click());
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=clip-row]").Count), TimeSpan.FromSeconds(60));

        foreach (var row in page.FindAll("[data-testid=clip-row]"))
        {
            var contender = row.GetAttribute("data-contender")!;
            Assert.True(expected.ContainsKey(contender), contender);
            var mean = double.Parse(row.GetAttribute("data-mean")!, CultureInfo.InvariantCulture);
            Assert.Equal(expected[contender].Average(), mean, 0.01); // 1e-4 in cosine
            Assert.Contains($"<td>{prompts.Length}</td>", row.InnerHtml);
            Assert.Equal(contender == Contender(good) ? "1516" : "1484", row.QuerySelector("[data-testid=clip-elo]")!.TextContent.Trim());
        }
        // The embedded images' vectors were stored for the next time (and for the gallery's search).
        var vectors = ctx.Services.GetRequiredService<IEmbeddingStore>();
        Assert.NotNull(await vectors.GetAsync(goodSha, "clip-shapes", Ct));
    }

    [Fact]
    public async Task Without_generated_images_the_tab_says_so()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = ctx.Render<Evaluate>();
        page.WaitForAssertion(() => Assert.False(page.Find("button[data-testid=clip-compute]").HasAttribute("disabled")), TimeSpan.FromSeconds(30));
        await page.InvokeAsync(() => page.Find("button[data-testid=clip-compute]").Click());
        page.WaitForAssertion(() => Assert.Contains("No generated images", page.Find("[data-testid=clip-empty]").TextContent), TimeSpan.FromSeconds(30));
    }

    private static string Contender(Setting s) =>
        RunText.Contender("sd-shapes", RunText.ToJson(new { steps = s.Steps, guidance_scale = s.Guidance, scheduler = s.Scheduler }));

    private static async Task<byte[]> GenerateAsync(HttpClient api, string prompt, Setting s)
    {
        var response = await api.PostAsJsonAsync("/v1/images/generations",
            new { prompt, steps = s.Steps, guidance_scale = s.Guidance, scheduler = s.Scheduler, seed = 7, response_format = "b64_json" }, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        return Convert.FromBase64String(JsonDocument.Parse(body).RootElement.GetProperty("data")[0].GetProperty("b64_json").GetString()!);
    }

    /// <summary>cos(image, prompt) as /v1/classify computes it for one label with the bare "{}" template.</summary>
    private static async Task<double> CosineAsync(HttpClient api, byte[] png, string prompt)
    {
        var response = await api.PostAsJsonAsync("/v1/classify",
            new { images = new[] { Convert.ToBase64String(png) }, labels = new[] { prompt }, templates = new[] { "{}" }, model = "clip-shapes" }, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("similarity")[0][0].GetDouble();
    }
}
