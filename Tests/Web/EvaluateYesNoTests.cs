using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Bunit;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Core;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Components.Pages;
using MultimodalHub.Web.Services.Evaluation;

namespace MultimodalHub.Tests.Web;

/// <summary>The Evaluate page's MME-style yes/no benchmark on the real VLM: the page's accuracy and accuracy+ per
/// category against figures recomputed here from /v1/vqa's own answers; the run kept in the owner's history; JSONL sets.</summary>
public sealed class EvaluateYesNoTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_demo_set_scores_as_the_vlms_own_answers_say_high_and_is_kept_in_the_history()
    {
        using var api = inference.Factory.CreateClient();
        var set = YesNoSets.ShapesDemo();
        Assert.Equal(48, set.Count);
        Assert.Equal(24, set.Select(i => i.ImageId).Distinct().Count());
        Assert.Equal(set.Select(i => i.Image), YesNoSets.ShapesDemo().Select(i => i.Image)); // drawn the same every time
        var misses = new List<string>();
        var expected = await ExpectedAsync(api, set, misses);

        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = ctx.Render<Evaluate>();
        await RunOnPageAsync(page);
        AssertFigures(page, expected);
        var overall = expected["all"];
        // Far above chance (0.5 and 0.25): measured 79% / 58% here; the demo VLM says "no" to some squares and circles
        // that are there (its existence answers are weaker than its captions), and never "yes" to an absent shape but once.
        Assert.True(overall.Accuracy >= 0.7, $"accuracy {overall.Accuracy:P1} on the shapes world: " + string.Join("; ", misses));
        Assert.True(overall.AccuracyPlus >= 0.45, $"accuracy+ {overall.AccuracyPlus:P1} on the shapes world: " + string.Join("; ", misses));
        Xunit.TestContext.Current.SendDiagnosticMessage($"shapes demo: accuracy {overall.Accuracy:P1}, accuracy+ {overall.AccuracyPlus:P1}; misses: {string.Join("; ", misses)}");

        // Stored with its figures; another account's scope does not see it; the history row shows it again.
        var store = ctx.Services.GetRequiredService<IEvalStore>();
        var run = Assert.Single(await store.ListAsync(YesNoScoring.Benchmark, OwnerScope.Local, ct: Ct));
        Assert.Equal(("shapes-vlm", YesNoSets.ShapesDemoName, 24, 48), (run.Model, run.Dataset, run.Images, run.Questions));
        Assert.Equal(overall.Accuracy, run.Accuracy, 12);
        Assert.Equal(overall.AccuracyPlus, run.AccuracyPlus, 12);
        Assert.Empty(await store.ListAsync(YesNoScoring.Benchmark, new OwnerScope("someone-else", false), ct: Ct));
        Assert.Null(await store.GetAsync(run.Id, new OwnerScope("someone-else", false), Ct));
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=yn-history-row]")));

        var again = ctx.Render<Evaluate>();
        again.WaitForAssertion(() => Assert.Single(again.FindAll("[data-testid=yn-history-row]")), TimeSpan.FromSeconds(30));
        await again.InvokeAsync(() => again.Find("button[data-testid=yn-history-show]").Click());
        AssertFigures(again, expected);
    }

    [Fact]
    public async Task A_jsonl_set_runs_under_its_file_name_and_a_bad_line_is_named()
    {
        using var api = inference.Factory.CreateClient();
        string Png(string file) => "data:image/png;base64," + Convert.ToBase64String(File.ReadAllBytes(Repo.Model("shapes-vlm", "goldens", file)));
        // g1: a large red circle on white; g2: a blue square and a yellow star on black.
        var lines = new[]
        {
            JsonSerializer.Serialize(new { image_id = "g1", image = Png("g1_red_circle_caption.png"), question = "is there a circle?", answer = "yes", category = "existence" }),
            JsonSerializer.Serialize(new { image_id = "g1", question = "is there a star?", answer = "no", category = "existence" }),
            JsonSerializer.Serialize(new { image_id = "g2", image = Png("g2_two_shapes_caption.png"), question = "is there a star?", answer = "yes", category = "existence" }),
            JsonSerializer.Serialize(new { image_id = "g2", question = "is there a triangle?", answer = "no", category = "existence" }),
        };
        var set = YesNoSets.ReadJsonl(string.Join('\n', lines));
        var expected = await ExpectedAsync(api, set);

        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = ctx.Render<Evaluate>();
        page.WaitForAssertion(() => Assert.Contains("shapes demo", page.Find("[data-testid=yn-dataset]").TextContent));

        var bad = string.Join('\n', lines[0], lines[1].Replace("\"no\"", "\"maybe\"", StringComparison.Ordinal));
        await page.InvokeAsync(() => page.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(bad, "bad.jsonl")));
        page.WaitForAssertion(() => Assert.Contains("bad.jsonl: line 2: \"answer\" must be \"yes\" or \"no\"", page.Find("[data-testid=yn-error]").TextContent));
        Assert.Contains("shapes demo", page.Find("[data-testid=yn-dataset]").TextContent); // the set in use is unchanged

        await page.InvokeAsync(() => page.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(string.Join('\n', lines) + "\n", "mine.jsonl")));
        page.WaitForAssertion(() => Assert.Equal("Set: mine.jsonl (2 images, 4 questions)", page.Find("[data-testid=yn-dataset]").TextContent.Trim()));
        Assert.Empty(page.FindAll("[data-testid=yn-error]"));
        await RunOnPageAsync(page);
        AssertFigures(page, expected);
        Assert.Equal(["existence", "all"], page.FindAll("[data-testid=yn-category]").Select(r => r.GetAttribute("data-category")));
        var run = Assert.Single(await ctx.Services.GetRequiredService<IEvalStore>().ListAsync(YesNoScoring.Benchmark, OwnerScope.Local, ct: Ct));
        Assert.Equal("mine.jsonl", run.Dataset);
    }

    [Fact]
    public void Scoring_follows_mme_and_jsonl_round_trips()
    {
        Assert.Equal(["yes", "yes", "no", "no", "other", "other", "other"],
            new[] { "Yes", " yes, there is.", "No.", "no", "none", "circle", "" }.Select(YesNoScoring.Normalize));
        YesNoAnswer A(string image, bool correct) => new(image, "c", "q", "yes", correct ? "yes" : "no", correct);
        var score = YesNoScoring.Score("c", [A("1", true), A("1", true), A("2", true), A("2", false)]);
        Assert.Equal((2, 4, 0.75, 0.5), (score.Images, score.Questions, score.Accuracy, score.AccuracyPlus));
        Assert.Equal(125, score.Score, 9);

        var demo = YesNoSets.ShapesDemo(1);
        Assert.Equal(demo, YesNoSets.ReadJsonl(YesNoSets.ToJsonl(demo)));
        var e = Assert.Throws<YesNoSetException>(() => YesNoSets.ReadJsonl("{\"image_id\":\"x\",\"question\":\"is there a cat?\",\"answer\":\"yes\"}"));
        Assert.Equal(1, e.Line);
        Assert.Contains("no image for \"x\"", e.Message);
        Assert.Equal(3, Assert.Throws<YesNoSetException>(() => YesNoSets.ReadJsonl("\n" + YesNoSets.ToJsonl(demo).Split('\n')[0] + "\n{not json")).Line);
    }

    private sealed record Figures(double Accuracy, double AccuracyPlus);

    /// <summary>Accuracy (questions) and accuracy+ (images with both right) per category and overall ("all"), from
    /// /v1/vqa's answers read here as plain JSON, an answer counting when its first word is the expected one.</summary>
    private static async Task<Dictionary<string, Figures>> ExpectedAsync(HttpClient api, IReadOnlyList<YesNoItem> set, List<string>? misses = null)
    {
        misses ??= [];
        var right = new List<(string Category, string Image, bool Correct)>();
        foreach (var item in set)
        {
            var response = await api.PostAsJsonAsync("/v1/vqa", new { image = item.Image, question = item.Question, model = "shapes-vlm" }, Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.IsSuccessStatusCode, body);
            var text = JsonDocument.Parse(body).RootElement.GetProperty("text").GetString()!;
            var first = new string(text.Trim().ToLowerInvariant().TakeWhile(char.IsLetter).ToArray());
            right.Add((item.Category, item.ImageId, first == item.Answer));
            if (first != item.Answer) misses.Add($"{item.ImageId} {item.Question} -> {text}");
        }
        Figures Of(IEnumerable<(string Category, string Image, bool Correct)> rows)
        {
            var list = rows.ToList();
            var images = list.GroupBy(r => r.Image).ToList();
            return new((double)list.Count(r => r.Correct) / list.Count, (double)images.Count(g => g.All(r => r.Correct)) / images.Count);
        }
        var figures = right.GroupBy(r => r.Category).ToDictionary(g => g.Key, g => Of(g));
        figures["all"] = Of(right);
        return figures;
    }

    private static async Task RunOnPageAsync(IRenderedComponent<Evaluate> page)
    {
        page.WaitForAssertion(() => Assert.False(page.Find("button[data-testid=yn-run]").HasAttribute("disabled")), TimeSpan.FromSeconds(30));
        await page.InvokeAsync(() => page.Find("button[data-testid=yn-run]").Click());
        page.WaitForAssertion(() => Assert.NotEmpty(page.FindAll("[data-testid=yn-category]")), TimeSpan.FromSeconds(120));
        Assert.Empty(page.FindAll("[data-testid=yn-error]"));
    }

    private static void AssertFigures(IRenderedComponent<Evaluate> page, Dictionary<string, Figures> expected)
    {
        page.WaitForAssertion(() => Assert.Equal(expected.Count, page.FindAll("[data-testid=yn-category]").Count));
        foreach (var row in page.FindAll("[data-testid=yn-category]"))
        {
            var want = expected[row.GetAttribute("data-category")!];
            Assert.Equal(want.Accuracy, double.Parse(row.GetAttribute("data-acc")!, CultureInfo.InvariantCulture), 12);
            Assert.Equal(want.AccuracyPlus, double.Parse(row.GetAttribute("data-accplus")!, CultureInfo.InvariantCulture), 12);
        }
    }
}
