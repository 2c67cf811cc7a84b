using System.Net.Http.Json;
using System.Text.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Core;
using MultimodalHub.Web.Components.Pages;
using MultimodalHub.Web.Services.Evaluation;

namespace MultimodalHub.Tests.Web;

/// <summary>The Evaluate page's Arena tab on the real inference host and the real shapes-chat model: one prompt, the
/// model greedy against the model sampled, both answers streamed, names hidden until the vote; the vote becomes an A/B
/// vote, a preference pair and an Elo move.</summary>
public sealed class EvaluateArenaTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    private const string Prompt = "write a prompt for a picture of a red circle";
    private const string Greedy = "shapes-chat · temperature 0 · top-p 1 · 24 tokens";
    private const string Sampled = "shapes-chat · temperature 1 · top-p 1 · 24 tokens · seed 7";

    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    [Fact]
    public async Task Both_answers_stream_to_the_end_then_the_vote_reveals_the_names_and_moves_elo()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = ctx.Render<Evaluate>();
        await SetUpAsync(page, Prompt, (0, 24, null), (1, 24, 7));
        await page.InvokeAsync(() => page.Find("button[data-testid=arena-run]").Click());
        page.WaitForAssertion(() =>
        {
            Assert.Equal("true", page.Find("[data-testid=arena-side-a]").GetAttribute("data-done"));
            Assert.Equal("true", page.Find("[data-testid=arena-side-b]").GetAttribute("data-done"));
        }, TimeSpan.FromSeconds(90));
        Assert.Empty(page.FindAll("[data-testid=arena-error]"));

        // Names hidden until the vote.
        foreach (var side in new[] { "a", "b" })
        {
            var name = page.Find($"[data-testid=arena-name-{side}]");
            Assert.Contains("hidden until you vote", name.TextContent);
            Assert.False(name.HasAttribute("data-contender"));
        }
        var shown = new[] { "a", "b" }.ToDictionary(s => s, s => page.Find($"[data-testid=arena-answer-{s}]").TextContent);

        // Each answer is a succeeded chat run with the shown text, and the two ran at the same time.
        var runs = ctx.Services.GetRequiredService<IRunStore>();
        var recorded = (await runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Kind = RunKind.Chat }, Ct)).Items;
        Assert.Equal(2, recorded.Count);
        var full = new List<Run>();
        foreach (var r in recorded) full.Add((await runs.GetAsync(r.Id, OwnerScope.Local, Ct))!);
        Assert.All(full, r => Assert.Equal((RunStatus.Succeeded, Prompt), (r.Status, r.Prompt)));
        Assert.Equal(shown.Values.Order(), full.Select(r => r.OutputText!).Order());
        Assert.All(shown.Values, t => Assert.False(string.IsNullOrWhiteSpace(t)));
        Assert.True(full[0].Started <= full[1].Finished && full[1].Started <= full[0].Finished, "the two answers should be requested at once");

        // The greedy contestant's answer is the service's own greedy answer to the prompt.
        var greedyRun = Assert.Single(full, r => r.ParametersJson.Contains("\"temperature\":0,", StringComparison.Ordinal));
        Assert.Equal(await GreedyAnswerAsync(), greedyRun.OutputText);

        // Vote for A: the names show, the vote is stored as text answers, A's contestant gains what B's loses.
        await page.InvokeAsync(() => page.Find("button[data-testid=arena-vote-a]").Click());
        page.WaitForAssertion(() => Assert.Contains("Vote recorded: A is better", page.Find("[data-testid=arena-voted]").TextContent));
        var nameA = page.Find("[data-testid=arena-name-a]").GetAttribute("data-contender");
        var nameB = page.Find("[data-testid=arena-name-b]").GetAttribute("data-contender");
        Assert.Equal(new[] { Greedy, Sampled }.Order(), new[] { nameA!, nameB! }.Order());
        Assert.True(page.Find("button[data-testid=arena-vote-b]").HasAttribute("disabled")); // one vote per round

        var ratings = ctx.Services.GetRequiredService<IRatingService>();
        var vote = Assert.Single(await ratings.ListAbVotesAsync(OwnerScope.Local, Ct));
        Assert.Equal((Prompt, shown["a"], shown["b"], nameA, nameB, AbWinner.A), (vote.Prompt, vote.TextA!, vote.TextB!, vote.ContenderA, vote.ContenderB, vote.Winner));
        Assert.Null(vote.ImageA);
        var pair = Assert.Single(await ratings.PreferencePairsAsync(OwnerScope.Local, Ct));
        Assert.Equal((shown["a"], shown["b"], nameA, nameB, "arena"), (pair.Chosen, pair.Rejected, pair.ChosenModel, pair.RejectedModel, pair.Source));

        var rows = page.FindAll("[data-testid=arena-elo-row]");
        Assert.Equal(new[] { nameA, nameB }, rows.Select(r => r.GetAttribute("data-contender")));
        Assert.Equal(1516, double.Parse(rows[0].GetAttribute("data-rating")!, System.Globalization.CultureInfo.InvariantCulture), 6); // 1500 + 32 × (1 − 0.5)
        Assert.Equal(1484, double.Parse(rows[1].GetAttribute("data-rating")!, System.Globalization.CultureInfo.InvariantCulture), 6);
        var elo = await ratings.EloRankingAsync(OwnerScope.Local, ct: Ct);
        Assert.Equal(new[] { (nameA!, 1, 0, 0), (nameB!, 0, 1, 0) }, elo.Select(e => (e.Contender, e.Wins, e.Losses, e.Ties)));

        // The Ratings page's Elo ranking lists the chat contestants too.
        var ratingsPage = ctx.Render<AbRatings>();
        ratingsPage.WaitForAssertion(() => Assert.Contains(nameA!, ratingsPage.Find("[data-testid=elo]").TextContent));
    }

    [Fact]
    public async Task An_empty_prompt_and_the_same_contestant_twice_get_readable_messages_and_run_nothing()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = ctx.Render<Evaluate>();
        await SetUpAsync(page, "   ", (0, 24, null), (1, 24, null));
        await page.InvokeAsync(() => page.Find("button[data-testid=arena-run]").Click());
        Assert.Equal("Type a prompt first.", page.Find("[data-testid=arena-error]").TextContent.Trim());

        await SetUpAsync(page, Prompt, (0.5, 24, 3), (0.5, 24, 3));
        await page.InvokeAsync(() => page.Find("button[data-testid=arena-run]").Click());
        Assert.Contains("same contestant", page.Find("[data-testid=arena-error]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=arena-side-a]"));
        Assert.Empty((await ctx.Services.GetRequiredService<IRunStore>().ListAsync(new RunQuery { Owner = OwnerScope.Local }, Ct)).Items);
    }

    [Fact]
    public async Task An_unknown_model_is_named_before_running_and_by_the_service_if_it_goes_away()
    {
        var models = new[] { "shapes-chat" };
        var known = new ArenaContestant("shapes-chat", 0, 1, 8);
        var unknown = new ArenaContestant("no-such-chat", 0, 1, 8);
        Assert.Contains("unknown chat model 'no-such-chat'", ArenaRunner.Validate(Prompt, known, unknown, models));
        Assert.Contains("temperature", ArenaRunner.Validate(Prompt, known, known with { Temperature = 3 }, models));
        Assert.Contains("max tokens", ArenaRunner.Validate(Prompt, known, known with { MaxTokens = 0 }, models));
        Assert.Null(ArenaRunner.Validate(Prompt, known, known with { Seed = 1 }, models));

        // A model that is gone by the time the round runs: that side fails with the service's message, the other
        // answers, and there is nothing to vote on.
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var runner = ctx.Services.GetRequiredService<ArenaRunner>();
        var round = ArenaRunner.Start(Prompt, known, unknown);
        await runner.RunAsync(Owner.LocalId, round, () => Task.CompletedTask, Ct);
        Assert.True(round.A.Succeeded, round.A.Error);
        Assert.Contains("Unknown model 'no-such-chat'", round.B.Error);
        Assert.False(round.CanVote);
        await Assert.ThrowsAsync<InvalidOperationException>(() => runner.VoteAsync(OwnerScope.Local, round, AbWinner.A, Ct));
    }

    /// <summary>Types the prompt and both contestants' settings (temperature, max tokens, seed) on the Arena tab.</summary>
    private static async Task SetUpAsync(IRenderedComponent<Evaluate> page, string prompt, (double T, int Max, long? Seed) one, (double T, int Max, long? Seed) two)
    {
        page.WaitForAssertion(() => Assert.Contains("shapes-chat", page.Find("[data-testid=arena-model-1]").InnerHtml), TimeSpan.FromSeconds(30));
        await page.InvokeAsync(() => Field(page, "arena-prompt", "textarea").Input(prompt));
        foreach (var (n, s) in new[] { (1, one), (2, two) })
        {
            await page.InvokeAsync(() => Field(page, $"arena-temperature-{n}").Change(s.T.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            await page.InvokeAsync(() => Field(page, $"arena-max-tokens-{n}").Change(s.Max.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            await page.InvokeAsync(() => Field(page, $"arena-seed-{n}").Change(s.Seed?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""));
        }
    }

    private static AngleSharp.Dom.IElement Field(IRenderedComponent<Evaluate> page, string testId, string tag = "input") =>
        page.Find($"{tag}[data-testid={testId}], [data-testid={testId}] {tag}");

    private async Task<string> GreedyAnswerAsync()
    {
        using var api = inference.Factory.CreateClient();
        var response = await api.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "shapes-chat",
            messages = new[] { new { role = "user", content = Prompt } },
            temperature = 0,
            top_p = 1,
            max_tokens = 24,
        }, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }
}
