using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Bunit;
using MultimodalHub.Tests.Core;
using MultimodalHub.Web.Components.Pages;

namespace MultimodalHub.Tests.Web;

/// <summary>The Evaluate page's Perplexity tab on the real inference host and the real chat model: the figures are
/// recomputed here from the raw JSON the API returns, and the model's own greedy text must be likelier than the same
/// words scrambled.</summary>
public sealed class EvaluatePerplexityTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => Xunit.TestContext.Current.CancellationToken;

    [Fact]
    public async Task Perplexity_is_exp_of_the_mean_nll_of_the_api_logprobs_and_every_token_is_shown_with_its_alternatives()
    {
        const string text = "a red circle and a blue square on a white background";
        using var api = inference.Factory.CreateClient();
        var raw = await ScoreRawAsync(api, text);

        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient(), popovers: false);
        var popovers = ctx.Render<MudBlazor.MudPopoverProvider>();
        var page = ctx.Render<Evaluate>();
        await ScoreOnPageAsync(page, text);

        // exp(mean NLL) over the scored tokens (all but the first), from the API's numbers.
        var scored = raw.Logprobs.Skip(1).Select(l => l!.Value).ToList();
        var perplexity = Math.Exp(-scored.Average());
        Assert.Null(raw.Logprobs[0]);
        Assert.Equal(perplexity.ToString("0.###", CultureInfo.InvariantCulture), page.Find("[data-testid=ppl-value]").TextContent.Trim());
        Assert.Equal($"{scored.Count} of {raw.Tokens.Count}", page.Find("[data-testid=ppl-count]").TextContent.Trim());
        Assert.InRange(perplexity, 1.0, 1285); // at least 1; below a uniform guess over the tokenizer's ids

        // One span per token, their characters put together are the text, each with the API's logprob.
        var spans = page.FindAll("[data-testid=ppl-token]");
        Assert.Equal(raw.Tokens.Count, spans.Count);
        Assert.Equal(text, string.Concat(spans.Select(s => s.TextContent)));
        for (var i = 0; i < spans.Count; i++)
        {
            var shown = spans[i].GetAttribute("data-logprob");
            if (raw.Logprobs[i] is { } l) Assert.Equal(l, double.Parse(shown!, CultureInfo.InvariantCulture));
            else Assert.True(string.IsNullOrEmpty(shown));
        }

        // Hovering a token shows its probability and the model's five most likely tokens there, best first.
        var last = raw.Tokens.Count - 1;
        await page.InvokeAsync(() => page.FindAll("[data-testid=ppl-token]")[last].Closest(".mud-tooltip-root")!.TriggerEvent("onpointerenter", new Microsoft.AspNetCore.Components.Web.PointerEventArgs()));
        page.WaitForAssertion(() => Assert.Equal(5, popovers.FindAll("[data-testid=ppl-alt]").Count));
        var shownAlternatives = popovers.FindAll("[data-testid=ppl-alt]").Select(a => a.TextContent.Trim()).ToList();
        var expected = raw.Top[last].OrderByDescending(kv => kv.Value)
            .Select(kv => $"{kv.Key.Replace(" ", "␣", StringComparison.Ordinal)} · {Math.Exp(kv.Value).ToString("0.####", CultureInfo.InvariantCulture)}").ToList();
        Assert.Equal(expected, shownAlternatives);
    }

    [Fact]
    public async Task The_models_own_greedy_text_is_likelier_than_its_words_scrambled()
    {
        using var api = inference.Factory.CreateClient();
        // The chat model's greedy answer, written after its own chat template.
        const string prompt = "<|im_start|>user\nwrite a prompt for a picture of a red circle<|im_end|>\n<|im_start|>assistant\n";
        var response = await api.PostAsJsonAsync("/v1/completions", new { model = "shapes-chat", prompt, max_tokens = 24, temperature = 0 }, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        var answer = JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!.Trim();
        var words = answer.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length >= 4, answer);
        var scrambled = string.Join(' ', words.Reverse());

        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = ctx.Render<Evaluate>();
        var own = await PerplexityOnPageAsync(page, prompt + answer);
        var shuffled = await PerplexityOnPageAsync(page, prompt + scrambled);
        Assert.True(own < shuffled, $"perplexity of the model's own answer {own} should be below the scrambled one's {shuffled} ('{answer}')");
    }

    [Fact]
    public async Task A_text_longer_than_the_context_window_gets_a_readable_message_and_an_unreachable_service_too()
    {
        await using (var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient()))
        {
            var page = ctx.Render<Evaluate>();
            await ScoreOnPageAsync(page, string.Concat(Enumerable.Repeat("red circle ", 1500)), expectResult: false);
            page.WaitForAssertion(() => Assert.Contains("context window", page.Find("[data-testid=ppl-error]").TextContent), TimeSpan.FromSeconds(30));
            Assert.Empty(page.FindAll("[data-testid=ppl-token]"));
        }

        await using (var ctx = await WebTestContext.StartAsync(WebTestContext.ClosedPortClient()))
        {
            var page = ctx.Render<Evaluate>();
            page.WaitForAssertion(() => Assert.Contains("no chat model", page.Find("[data-testid=ppl-error]").TextContent), TimeSpan.FromSeconds(30));
            Assert.True(page.Find("button[data-testid=ppl-score]").HasAttribute("disabled"));
        }
    }

    private static async Task<double> PerplexityOnPageAsync(IRenderedComponent<Evaluate> page, string text)
    {
        await ScoreOnPageAsync(page, text);
        return double.Parse(page.Find("[data-testid=ppl-value]").TextContent.Trim(), CultureInfo.InvariantCulture);
    }

    private static async Task ScoreOnPageAsync(IRenderedComponent<Evaluate> page, string text, bool expectResult = true)
    {
        await page.InvokeAsync(() => page.Find("textarea[data-testid=ppl-text], [data-testid=ppl-text] textarea").Input(text));
        // Enabled once the model list has come and the text is there.
        page.WaitForAssertion(() => Assert.False(page.Find("button[data-testid=ppl-score]").HasAttribute("disabled")), TimeSpan.FromSeconds(30));
        await page.InvokeAsync(() => page.Find("button[data-testid=ppl-score]").Click());
        if (expectResult)
            page.WaitForAssertion(() => Assert.Equal(text, string.Concat(page.FindAll("[data-testid=ppl-token]").Select(s => s.TextContent))), TimeSpan.FromSeconds(60));
    }

    private sealed record Raw(IReadOnlyList<string> Tokens, IReadOnlyList<double?> Logprobs, IReadOnlyList<Dictionary<string, double>> Top);

    /// <summary>The prompt's logprobs straight from POST /v1/completions (echo, max_tokens 0), read as plain JSON.</summary>
    private static async Task<Raw> ScoreRawAsync(HttpClient api, string text)
    {
        var response = await api.PostAsJsonAsync("/v1/completions", new { model = "shapes-chat", prompt = text, echo = true, max_tokens = 0, logprobs = 5 }, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        var lp = JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("logprobs");
        return new Raw(
            lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToList(),
            lp.GetProperty("token_logprobs").EnumerateArray().Select(t => t.ValueKind == JsonValueKind.Null ? (double?)null : t.GetDouble()).ToList(),
            lp.GetProperty("top_logprobs").EnumerateArray().Select(t => t.ValueKind == JsonValueKind.Null ? []
                : t.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble())).ToList());
    }
}
