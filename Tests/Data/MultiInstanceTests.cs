using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using SkiaSharp;

namespace MultimodalHub.Tests.Data;

/// <summary>Two web app instances (two service providers, each with its own contexts, pools and instance lease) on one
/// PostgreSQL database and one blob folder, as two processes behind a load balancer would be.</summary>
[Collection(PostgresServer.Collection)]
public sealed class MultiInstanceTestsOnPostgres(PostgresServer server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Recovery_fails_the_runs_of_an_instance_that_is_gone_and_leaves_a_live_ones_alone()
    {
        await using var a = await HubDataHarness.StartAsync(server);
        var running = await a.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "a: running") { OwnerId = Owner.LocalId }, Ct);
        await a.Runs.MarkRunningAsync(running.Id, Ct);
        var queued = await a.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "a: queued") { OwnerId = Owner.LocalId }, Ct);

        // A second instance starts (migrate + recovery) while the first is alive: the first's runs stay as they are.
        await using var b = await HubDataHarness.StartAsync(server, directory: a.Directory);
        Assert.Equal(RunStatus.Running, (await b.Runs.GetAsync(running.Id, OwnerScope.Local, Ct))!.Status);
        Assert.Equal(RunStatus.Queued, (await b.Runs.GetAsync(queued.Id, OwnerScope.Local, Ct))!.Status);
        var own = await b.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", "b: running") { OwnerId = Owner.LocalId }, Ct);
        await b.Runs.MarkRunningAsync(own.Id, Ct);
        var recovery = b.Services.GetRequiredService<IStartupRecovery>();
        Assert.Equal(0, await recovery.RecoverAsync(Ct));

        await a.StopAsync(); // the first instance dies: its lease goes with its connection
        Assert.Equal(2, await recovery.RecoverAsync(Ct));
        foreach (var id in new[] { running.Id, queued.Id })
        {
            var run = (await b.Runs.GetAsync(id, OwnerScope.Local, Ct))!;
            Assert.Equal((RunStatus.Failed, StartupRecovery.InterruptedError), (run.Status, run.Error));
        }
        Assert.Equal(RunStatus.Running, (await b.Runs.GetAsync(own.Id, OwnerScope.Local, Ct))!.Status);
        Assert.True(await b.Runs.MarkSucceededAsync(own.Id, new(Text: "a circle"), Ct));
    }

    [Fact]
    public async Task Two_instances_writing_at_once_lose_and_duplicate_nothing()
    {
        const int writersPerInstance = 4, perWriter = 20, total = 2 * writersPerInstance * perWriter;
        await using var a = await HubDataHarness.StartAsync(server);
        await using var b = await HubDataHarness.StartAsync(server, directory: a.Directory);
        var chat = await a.Chats.CreateSessionAsync(OwnerScope.Local, "shapes-chat", ct: Ct);
        var shared = await a.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", "shared") { OwnerId = Owner.LocalId }, Ct);
        await a.Runs.MarkSucceededAsync(shared.Id, new(Text: "a red star"), Ct);
        var link = await a.Shares.CreateAsync(new([shared.Id]), Ct);

        await Task.WhenAll(new[] { a, b }.SelectMany((hub, h) => Enumerable.Range(0, writersPerInstance).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < perWriter; i++)
            {
                var text = $"instance {h} writer {w} message {i}";
                var run = await hub.Runs.CreateAsync(new(RunKind.Chat, "shapes-chat", text, ChatSessionId: chat.Id) { OwnerId = Owner.LocalId }, Ct);
                Assert.True(await hub.Runs.MarkRunningAsync(run.Id, Ct));
                await hub.Chats.AppendAsync(chat.Id, new("user", text), OwnerScope.Local, Ct);
                Assert.True(await hub.Runs.MarkSucceededAsync(run.Id, new(Text: $"reply {h}/{w}/{i}"), Ct));
                Assert.NotNull(await hub.Shares.ResolveAsync(link.Token, ct: Ct)); // counts a view
            }
        }, Ct))));

        await using var db = a.NewContext();
        var prompts = await db.Runs.Where(r => r.ChatSessionId == chat.Id).Select(r => r.Prompt).ToListAsync(Ct);
        Assert.Equal(total, prompts.Count);
        Assert.Equal(total, prompts.Distinct().Count());
        Assert.Equal(total, await db.Runs.CountAsync(r => r.ChatSessionId == chat.Id && r.Status == RunStatus.Succeeded, Ct));
        var messages = await db.ChatMessages.Where(m => m.SessionId == chat.Id).OrderBy(m => m.Position).Select(m => new { m.Position, m.Content }).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(0, total), messages.Select(m => m.Position));
        Assert.Equal(prompts.Order(StringComparer.Ordinal), messages.Select(m => m.Content).Order(StringComparer.Ordinal));
        Assert.Equal(total, (await b.Shares.ListAsync(OwnerScope.Local, Ct)).Single().ViewCount);
        Assert.Equal(total, (await b.Runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Text = "reply" }, Ct)).Total);
    }

    [Fact]
    public async Task Each_live_instance_keeps_its_service_key_and_a_gone_ones_is_revoked()
    {
        await using var a = await HubDataHarness.StartAsync(server);
        await using var b = await HubDataHarness.StartAsync(server, directory: a.Directory);
        var keyA = await a.Services.GetRequiredService<IApiKeyStore>().CreateServiceKeyAsync(Ct);
        var keysB = b.Services.GetRequiredService<IApiKeyStore>();
        var keyB = await keysB.CreateServiceKeyAsync(Ct);
        Assert.Equal(ApiKeyStatus.Valid, (await keysB.ValidateAsync(keyA, Ct)).Status); // b's start did not revoke a's key
        Assert.Equal(ApiKeyStatus.Valid, (await keysB.ValidateAsync(keyB, Ct)).Status);

        await a.StopAsync();
        var keyB2 = await keysB.CreateServiceKeyAsync(Ct); // a new key on b: a's (gone) goes, b's own earlier one stays (b lives)
        Assert.Equal(ApiKeyStatus.Revoked, (await keysB.ValidateAsync(keyA, Ct)).Status);
        Assert.Equal(ApiKeyStatus.Valid, (await keysB.ValidateAsync(keyB, Ct)).Status);
        Assert.Equal(ApiKeyStatus.Valid, (await keysB.ValidateAsync(keyB2, Ct)).Status);
    }

    [Fact]
    public async Task A_gone_instances_service_key_is_revoked_by_the_next_recovery_round()
    {
        await using var a = await HubDataHarness.StartAsync(server);
        await using var b = await HubDataHarness.StartAsync(server, directory: a.Directory);
        var keyA = await a.Services.GetRequiredService<IApiKeyStore>().CreateServiceKeyAsync(Ct);
        var keysB = b.Services.GetRequiredService<IApiKeyStore>();
        await b.Services.GetRequiredService<IStartupRecovery>().RecoverAsync(Ct);
        Assert.Equal(ApiKeyStatus.Valid, (await keysB.ValidateAsync(keyA, Ct)).Status);

        await a.StopAsync();
        await b.Services.GetRequiredService<IStartupRecovery>().RecoverAsync(Ct);
        Assert.Equal(ApiKeyStatus.Revoked, (await keysB.ValidateAsync(keyA, Ct)).Status);
    }

    [Fact]
    public async Task An_instance_whose_lease_connection_was_cut_takes_it_again_and_never_fails_its_own_runs()
    {
        await using var a = await HubDataHarness.StartAsync(server);
        await using var b = await HubDataHarness.StartAsync(server, directory: a.Directory);
        var running = await a.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "a: running") { OwnerId = Owner.LocalId }, Ct);
        await a.Runs.MarkRunningAsync(running.Id, Ct);
        var idA = await a.Services.GetRequiredService<MultimodalHub.Data.Storage.HubInstance>().IdAsync(Ct);

        // The server cuts a's lease connection (as a restart, a failover or an idle-connection killer would).
        await using (var db = b.NewContext())
        {
            await db.Database.ExecuteSqlInterpolatedAsync($"""
                SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2
                  AND CAST(classid AS bigint) = {(long)MultimodalHub.Data.Storage.HubInstance.LockClass} AND CAST(objid AS bigint) = {(long)idA}
                """, Ct);
            for (var i = 0; i < 100 && await MultimodalHub.Data.Storage.HubInstance.LiveInstances(db).ContainsAsync(idA, Ct); i++)
                await Task.Delay(50, Ct);
            Assert.False(await MultimodalHub.Data.Storage.HubInstance.LiveInstances(db).ContainsAsync(idA, Ct));
        }

        // a's own recovery round takes the same lease again and leaves its run alone; b then sees a alive.
        Assert.Equal(0, await a.Services.GetRequiredService<IStartupRecovery>().RecoverAsync(Ct));
        Assert.Equal(RunStatus.Running, (await a.Runs.GetAsync(running.Id, OwnerScope.Local, Ct))!.Status);
        Assert.Equal(0, await b.Services.GetRequiredService<IStartupRecovery>().RecoverAsync(Ct));
        Assert.True(await a.Runs.MarkSucceededAsync(running.Id, new(Text: "a star"), Ct));
    }

    [Fact]
    public async Task Uploads_on_one_instance_and_sweeps_on_another_keep_rows_and_files_together()
    {
        await using var a = await HubDataHarness.StartAsync(server);
        await using var b = await HubDataHarness.StartAsync(server, directory: a.Directory);
        var images = Enumerable.Range(0, 12).Select(i => HubDataHarness.Png(8 + i, 8, SKColors.Teal)).ToList();
        var everything = DateTimeOffset.UtcNow.AddDays(1); // every unattached image is old enough to sweep

        var uploads = Task.Run(async () =>
        {
            for (var round = 0; round < 10; round++)
                foreach (var bytes in images)
                    await b.Blobs.PutAsync(bytes, Owner.LocalId, Ct);
        }, Ct);
        var sweeps = Task.Run(async () =>
        {
            while (!uploads.IsCompleted)
                await a.Services.GetRequiredService<IBlobStore>().SweepUnattachedAsync(everything, ct: Ct);
        }, Ct);
        await Task.WhenAll(uploads, sweeps);

        // Every row left has its file: a put (with its upload record) and a delete never interleaved.
        await using var db = a.NewContext();
        var rows = await db.Images.Select(i => i.Sha256).ToListAsync(Ct);
        foreach (var sha in rows)
            Assert.NotNull(await a.Blobs.ReadAllAsync(sha, Ct));
    }
}
