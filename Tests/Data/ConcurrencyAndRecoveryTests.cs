using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Data;

public abstract class ConcurrencyAndRecoveryTests(TestDatabase database)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_writers_lose_nothing()
    {
        const int writers = 8, perWriter = 50;
        await using var hub = await HubDataHarness.StartAsync(database);
        var chat = await hub.Chats.CreateSessionAsync(OwnerScope.Local, "shapes-chat", ct: Ct);

        // Each writer goes through the services (a fresh DbContext per call) on its own thread.
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < perWriter; i++)
            {
                var run = await hub.Runs.CreateAsync(new(RunKind.Chat, "shapes-chat", $"writer {w} message {i}", ChatSessionId: chat.Id) { OwnerId = Owner.LocalId }, Ct);
                await hub.Runs.MarkRunningAsync(run.Id, Ct);
                await hub.Chats.AppendAsync(chat.Id, new("user", $"writer {w} message {i}"), OwnerScope.Local, Ct);
                await hub.Runs.MarkSucceededAsync(run.Id, new(Text: $"reply {w}/{i}"), Ct);
            }
        }, Ct)));

        await using var db = hub.NewContext();
        Assert.Equal(writers * perWriter, await db.Runs.CountAsync(r => r.Status == RunStatus.Succeeded, Ct));
        var prompts = await db.Runs.Select(r => r.Prompt).ToListAsync(Ct);
        Assert.Equal(writers * perWriter, prompts.Distinct().Count());
        var positions = await db.ChatMessages.Where(m => m.SessionId == chat.Id).Select(m => m.Position).OrderBy(p => p).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(0, writers * perWriter), positions);
        Assert.Equal(writers * perWriter, (await hub.Runs.ListAsync(new RunQuery { Owner = OwnerScope.Local, Text = "reply" }, Ct)).Total);
        if (database.Provider == DataProvider.Sqlite)
            Assert.Equal("ok", await DatabaseTests.Scalar(db, "PRAGMA integrity_check"));
    }

    [Fact]
    public async Task Runs_left_in_flight_are_failed_at_the_next_start()
    {
        await using var first = await HubDataHarness.StartAsync(database);
        var queued = await first.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "queued") { OwnerId = Owner.LocalId }, Ct);
        var running = await first.Runs.CreateAsync(new(RunKind.Imagine, "sd-shapes", "running") { OwnerId = Owner.LocalId }, Ct);
        await first.Runs.MarkRunningAsync(running.Id, Ct);
        var done = await first.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm") { OwnerId = Owner.LocalId }, Ct);
        await first.Runs.MarkSucceededAsync(done.Id, new(Text: "a circle"), Ct);
        await first.StopAsync(); // the process "dies" with two runs unfinished

        await using var second = await HubDataHarness.StartAsync(database, directory: first.Directory);
        foreach (var id in new[] { queued.Id, running.Id })
        {
            var run = await second.Runs.GetAsync(id, OwnerScope.Local, Ct);
            Assert.Equal(RunStatus.Failed, run!.Status);
            Assert.Equal("interrupted: the service restarted", run.Error);
            Assert.NotNull(run.Finished);
        }
        Assert.Equal(RunStatus.Succeeded, (await second.Runs.GetAsync(done.Id, OwnerScope.Local, Ct))!.Status);
        Assert.False(await second.Runs.MarkSucceededAsync(running.Id, new(Text: "too late"), Ct));
        Assert.Equal(0, await second.Services.GetRequiredService<IStartupRecovery>().RecoverAsync(Ct));
    }
}

public sealed class ConcurrencyAndRecoveryTestsOnSqlite() : ConcurrencyAndRecoveryTests(TestDatabase.Sqlite);

[Collection(PostgresServer.Collection)]
public sealed class ConcurrencyAndRecoveryTestsOnPostgres(PostgresServer server) : ConcurrencyAndRecoveryTests(server);
