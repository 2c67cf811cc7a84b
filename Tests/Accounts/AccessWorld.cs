using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Data;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Accounts;

/// <summary>Who is asking, in the access matrix.</summary>
public enum Who { Anonymous, Viewer, UserA, UserB, Admin, RevokedKey, ExpiredKey, WrongKey }

/// <summary>
/// One web app (real Kestrel, real SQLite) and one inference service requiring API keys on the same database, with
/// four accounts (admin, viewer, users A and B), A's and B's items (runs with images, a chat, a vote, a share link)
/// and keys (A's, B's, the admin's, the viewer's, a revoked one and an expired one).
/// </summary>
public sealed class AccessWorld : IAsyncLifetime
{
    public const string Password = "correct horse battery";
    public const string APrompt = "alpha private prompt";
    public const string AChatText = "alpha secret message";
    public const string AContender = "alpha-contender-x";

    public WebAppHost Web { get; private set; } = null!;
    public InferenceFactory Inference { get; private set; } = null!;
    public string A { get; private set; } = "";
    public string B { get; private set; } = "";
    public string AdminId { get; private set; } = "";
    public string ViewerId { get; private set; } = "";
    public string AImage { get; private set; } = "";
    public string BImage { get; private set; } = "";
    public long ARun { get; private set; }
    public long BRun { get; private set; }
    public long AChat { get; private set; }
    public long ALink { get; private set; }
    public string AToken { get; private set; } = "";
    public long BKeyId { get; private set; }
    public Dictionary<string, string> Keys { get; } = [];
    private readonly Dictionary<Who, HttpClient> _clients = [];

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        Web = await WebAppHost.StartAsync(ct);
        AdminId = await Web.CreateAccountAsync("admin", Password, HubRoles.Admin);
        A = await Web.CreateAccountAsync("alice", Password, HubRoles.User);
        B = await Web.CreateAccountAsync("bob", Password, HubRoles.User);
        ViewerId = await Web.CreateAccountAsync("vera", Password, HubRoles.Viewer);

        var s = Web.Services;
        var blobs = s.GetRequiredService<IBlobStore>();
        var runs = s.GetRequiredService<IRunStore>();
        AImage = (await blobs.PutAsync(HubDataHarness.Png(16, 16, SKColors.Red), A, ct)).Sha256;
        BImage = (await blobs.PutAsync(HubDataHarness.Png(16, 16, SKColors.Blue), B, ct)).Sha256;
        ARun = await SucceededRunAsync(runs, A, APrompt, AImage, ct);
        BRun = await SucceededRunAsync(runs, B, "bravo prompt", BImage, ct);
        var chats = s.GetRequiredService<IChatStore>();
        var chat = await chats.CreateSessionAsync(new OwnerScope(A), "shapes-chat", "alpha chat", ct: ct);
        await chats.AppendAsync(chat.Id, new NewChatMessage("user", AChatText), new OwnerScope(A), ct);
        AChat = chat.Id;
        var second = (await blobs.PutAsync(HubDataHarness.Png(16, 16, SKColors.Green), A, ct)).Sha256;
        await s.GetRequiredService<IRatingService>().RecordAbVoteAsync(new OwnerScope(A), APrompt,
            new AbCandidate(AImage, Contender: AContender), new AbCandidate(second, Contender: "alpha-contender-y"), AbWinner.A, ct);
        var link = await s.GetRequiredService<IShareService>().CreateAsync(new ShareRequest([ARun], OwnerId: A), ct);
        (ALink, AToken) = (link.Id, link.Token);

        var keys = s.GetRequiredService<IApiKeyStore>();
        Keys["A"] = (await keys.CreateAsync(new OwnerScope(A), "a key", ct: ct)).Secret;
        var bKey = await keys.CreateAsync(new OwnerScope(B), "b key", ct: ct);
        (Keys["B"], BKeyId) = (bKey.Secret, bKey.Key.Id);
        Keys["admin"] = (await keys.CreateAsync(new OwnerScope(AdminId), "admin key", ct: ct)).Secret;
        Keys["viewer"] = (await keys.CreateAsync(new OwnerScope(ViewerId), "viewer key", ct: ct)).Secret;
        var revoked = await keys.CreateAsync(new OwnerScope(A), "revoked", ct: ct);
        await keys.RevokeAsync(revoked.Key.Id, new OwnerScope(A), ct);
        Keys["revoked"] = revoked.Secret;
        var expired = await keys.CreateAsync(new OwnerScope(A), "expired", DateTimeOffset.UtcNow.AddHours(1), ct: ct);
        await using (var db = await s.GetRequiredService<IDbContextFactory<HubDbContext>>().CreateDbContextAsync(ct))
            await db.ApiKeys.Where(k => k.Id == expired.Key.Id).ExecuteUpdateAsync(u => u.SetProperty(k => k.ExpiresAt, DateTimeOffset.UtcNow.AddMinutes(-1)), ct);
        Keys["expired"] = expired.Secret;
        Keys["wrong"] = "mh_" + new string('x', 43);

        Inference = new InferenceFactory(settings: new Dictionary<string, string>
        {
            ["Auth:RequireApiKey"] = "true",
            ["Data:DatabasePath"] = Web.DatabasePath,
        });

        _clients[Who.Anonymous] = Web.NewClient();
        _clients[Who.Viewer] = await Web.SignedInClientAsync("vera", Password, ct);
        _clients[Who.UserA] = await Web.SignedInClientAsync("alice", Password, ct);
        _clients[Who.UserB] = await Web.SignedInClientAsync("bob", Password, ct);
        _clients[Who.Admin] = await Web.SignedInClientAsync("admin", Password, ct);
        foreach (var (who, key) in new[] { (Who.RevokedKey, "revoked"), (Who.ExpiredKey, "expired"), (Who.WrongKey, "wrong") })
        {
            var client = Web.NewClient();
            client.DefaultRequestHeaders.Authorization = new("Bearer", Keys[key]);
            _clients[who] = client;
        }
    }

    /// <summary>The web client of a principal (cookies for accounts; a Bearer header and no cookie for the keys).</summary>
    public HttpClient WebClient(Who who) => _clients[who];

    /// <summary>The key a principal presents to the inference API (null: none).</summary>
    public string? ApiKey(Who who) => who switch
    {
        Who.Anonymous => null,
        Who.Viewer => Keys["viewer"],
        Who.UserA => Keys["A"],
        Who.UserB => Keys["B"],
        Who.Admin => Keys["admin"],
        Who.RevokedKey => Keys["revoked"],
        Who.ExpiredKey => Keys["expired"],
        _ => Keys["wrong"],
    };

    private static async Task<long> SucceededRunAsync(IRunStore runs, string owner, string prompt, string image, CancellationToken ct)
    {
        var run = await runs.CreateAsync(new NewRun(RunKind.Imagine, "sd-shapes", prompt) { OwnerId = owner }, ct);
        await runs.MarkRunningAsync(run.Id, ct);
        await runs.MarkSucceededAsync(run.Id, new RunOutputs(OutputImages: [image]), ct);
        return run.Id;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients.Values) c.Dispose();
        await Inference.DisposeAsync();
        await Web.DisposeAsync();
    }
}
