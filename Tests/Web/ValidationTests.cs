using Bunit;
using MultimodalHub.Tests.Core;
using MultimodalHub.Web.Components.Pages;

namespace MultimodalHub.Tests.Web;

public sealed class ValidationTests(InferenceFixture inference) : IClassFixture<InferenceFixture>
{
    [Fact]
    public async Task Imagine_with_an_empty_prompt_says_so_and_runs_nothing()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = ctx.Render<Imagine>();
        page.WaitForAssertion(() => Assert.Contains("ddim", page.Markup)); // schedulers listed by the real service
        await page.InvokeAsync(() => page.Find("[data-testid=generate]").Click());
        page.WaitForAssertion(() => Assert.Contains("Type a prompt", page.Find("[data-testid=imagine-error]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=progress]"));
    }

    [Fact]
    public async Task Classify_without_images_asks_for_one()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = ctx.Render<Classify>();
        Assert.Equal(24, page.FindAll("[data-testid=labels] .mud-chip").Count);
        await page.InvokeAsync(() => page.Find("[data-testid=classify]").Click());
        page.WaitForAssertion(() => Assert.Contains("Add at least one image", page.Find("[data-testid=classify-error]").TextContent));
    }

    [Fact]
    public async Task Chat_with_an_empty_message_says_so()
    {
        await using var ctx = await WebTestContext.StartAsync(inference.Factory.CreateClient());
        var page = ctx.Render<MultimodalHub.Web.Components.Pages.Chat>();
        page.WaitForAssertion(() => Assert.Contains("shapes-chat", page.Find("[data-testid=model-card]").TextContent + page.Markup));
        await page.InvokeAsync(() => page.Find("[data-testid=send]").Click());
        page.WaitForAssertion(() => Assert.Contains("Type a message first", page.Find("[data-testid=chat-error]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=user-message]"));
    }
}
