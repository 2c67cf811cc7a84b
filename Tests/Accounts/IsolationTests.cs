using System.ClientModel;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using OpenAI;

namespace MultimodalHub.Tests.Accounts;

/// <summary>User B never reads A's runs, images, chats, votes or links, by id or by hash, in the web app or the data
/// services; admins see all; the official OpenAI client works with a key and gets a 401 without a valid one.</summary>
public sealed class IsolationTests(AccessWorld world) : IClassFixture<AccessWorld>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/chat/{A.chat}", AccessWorld.AChatText)]
    [InlineData("/ratings", AccessWorld.AContender)]
    [InlineData("/ratings/preferences.jsonl", "{A.image}")]
    [InlineData("/shared", "{A.token8}")]
    public async Task A_page_shows_A_her_items_and_B_none_of_them(string route, string marker)
    {
        var path = route.Replace("{A.chat}", world.AChat.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        marker = marker.Replace("{A.image}", world.AImage, StringComparison.Ordinal).Replace("{A.token8}", world.AToken[..8], StringComparison.Ordinal);
        Assert.Contains(marker, await world.WebClient(Who.UserA).GetStringAsync(path, Ct), StringComparison.Ordinal);
        Assert.DoesNotContain(marker, await world.WebClient(Who.UserB).GetStringAsync(path, Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gallery_holds_only_the_owners_images_and_everyones_for_admins()
    {
        var runs = world.Web.Services.GetRequiredService<IRunStore>();
        async Task<List<string>> Images(OwnerScope scope) =>
            (await runs.ListGalleryAsync(new RunQuery { Owner = scope, Take = 500 }, Ct)).Items.Select(i => i.ImageSha256).ToList();
        Assert.Equal([world.AImage], await Images(new OwnerScope(world.A)));
        Assert.Equal([world.BImage], await Images(new OwnerScope(world.B)));
        Assert.Equivalent(new[] { world.AImage, world.BImage }, await Images(new OwnerScope(world.AdminId, All: true)));
        Assert.Empty(await Images(new OwnerScope(world.ViewerId)));
    }

    [Fact]
    public async Task B_finds_nothing_of_A_through_the_data_services_by_id_or_hash()
    {
        var s = world.Web.Services;
        var b = new OwnerScope(world.B);
        var runs = s.GetRequiredService<IRunStore>();
        Assert.Null(await runs.GetAsync(world.ARun, b, Ct));
        Assert.NotNull(await runs.GetAsync(world.ARun, new OwnerScope(world.AdminId, All: true), Ct));
        Assert.DoesNotContain((await runs.ListAsync(new RunQuery { Owner = b, Take = 500 }, Ct)).Items, r => r.Id == world.ARun);
        Assert.Empty(await runs.GalleryItemsForImagesAsync([world.AImage], b, Ct));
        Assert.False(await runs.SetFavouriteAsync(world.ARun, true, b, Ct));
        Assert.False(await runs.DeleteAsync(world.ARun, b, Ct));
        Assert.False(await s.GetRequiredService<IRatingService>().SetThumbAsync(world.ARun, Thumb.Down, b, Ct));
        Assert.Empty(await s.GetRequiredService<IRatingService>().ListAbVotesAsync(b, Ct));

        var blobs = s.GetRequiredService<IBlobStore>();
        Assert.False(await blobs.CanReadAsync(world.AImage, b, Ct));
        Assert.True(await blobs.CanReadAsync(world.AImage, new OwnerScope(world.A), Ct));
        // A guessed hash never becomes B's: not as a run input, a chat image, a vote or a share.
        await Assert.ThrowsAsync<ImageNotStoredException>(() => runs.CreateAsync(new NewRun(RunKind.Caption, "shapes-vlm", InputImages: [world.AImage]) { OwnerId = world.B }, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => s.GetRequiredService<IRatingService>().RecordAbVoteAsync(b, "x",
            new AbCandidate(world.AImage, Contender: "p"), new AbCandidate(world.BImage, Contender: "q"), AbWinner.A, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => s.GetRequiredService<IShareService>().CreateAsync(new ShareRequest([world.ARun], OwnerId: world.B), Ct));

        var chats = s.GetRequiredService<IChatStore>();
        Assert.Null(await chats.GetAsync(world.AChat, b, Ct));
        Assert.DoesNotContain(await chats.ListAsync(b, Ct), c => c.Id == world.AChat);
        Assert.False(await chats.RenameAsync(world.AChat, "mine now", b, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => chats.AppendAsync(world.AChat, new NewChatMessage("user", "hi"), b, Ct));
        Assert.False(await chats.DeleteAsync(world.AChat, b, Ct));

        var shares = s.GetRequiredService<IShareService>();
        Assert.Empty(await shares.ListAsync(b, Ct));
        Assert.False(await shares.RevokeAsync(world.ALink, b, Ct));
        var keys = s.GetRequiredService<IApiKeyStore>();
        Assert.DoesNotContain(await keys.ListAsync(new OwnerScope(world.A), Ct), k => k.Id == world.BKeyId);
        Assert.False(await keys.RevokeAsync(world.BKeyId, new OwnerScope(world.A), Ct));
    }

    [Fact]
    public async Task The_official_OpenAI_client_works_with_a_key_and_gets_401_with_a_wrong_one()
    {
        using var http = world.Inference.CreateClient();
        var good = Client(http, world.Keys["A"]);
        var models = await good.GetOpenAIModelClient().GetModelsAsync(Ct);
        Assert.Contains(models.Value, m => m.Id == "shapes-chat");

        foreach (var key in new[] { world.Keys["wrong"], world.Keys["revoked"], world.Keys["expired"] })
        {
            var e = await Assert.ThrowsAsync<ClientResultException>(() => Client(http, key).GetOpenAIModelClient().GetModelsAsync(Ct));
            Assert.Equal(401, e.Status);
        }
    }

    private static OpenAIClient Client(HttpClient http, string key) => new(new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(http.BaseAddress!, "/v1"),
        Transport = new System.ClientModel.Primitives.HttpClientPipelineTransport(http),
    });
}
