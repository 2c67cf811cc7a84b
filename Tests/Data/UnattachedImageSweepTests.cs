using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Support;
using MultimodalHub.Web.Services;
using SkiaSharp;

namespace MultimodalHub.Tests.Data;

/// <summary>Uploads that never became part of a run, chat or vote are deleted after the retention; nothing else is.</summary>
public abstract class UnattachedImageSweepTests(TestDatabase database)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sweep_deletes_only_old_images_that_nothing_references()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var orphan = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Red), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var input = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Green), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var reuploaded = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Blue), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        await hub.Runs.CreateAsync(new NewRun(RunKind.Classify, "clip-shapes", InputImages: [input.Sha256]) { OwnerId = Owner.LocalId }, Ct);
        await hub.Blobs.OpenThumbnailAsync(orphan.Sha256, 128, Ct); // a cached thumbnail goes with its image

        clock.Advance(TimeSpan.FromHours(25));
        var young = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Yellow), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var again = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Blue), MultimodalHub.Data.Entities.Owner.LocalId, Ct); // dropped on a page again
        Assert.Equal(clock.GetUtcNow().ToUnixTimeMilliseconds(), again.Created.ToUnixTimeMilliseconds());

        var deleted = await hub.Blobs.SweepUnattachedAsync(clock.GetUtcNow() - TimeSpan.FromHours(24), ct: Ct);

        Assert.Equal(1, deleted);
        Assert.Null(await hub.Blobs.GetAsync(orphan.Sha256, Ct));
        Assert.Empty(Directory.GetFiles(hub.BlobPath, orphan.Sha256 + ".*", SearchOption.AllDirectories));
        foreach (var kept in new[] { input, reuploaded, young })
        {
            Assert.NotNull(await hub.Blobs.GetAsync(kept.Sha256, Ct));
            Assert.Single(Directory.GetFiles(hub.BlobPath, kept.Sha256 + ".png", SearchOption.AllDirectories));
        }
        Assert.Equal(0, await hub.Blobs.SweepUnattachedAsync(clock.GetUtcNow() - TimeSpan.FromHours(24), ct: Ct));
    }

    [Fact]
    public async Task Sweep_works_through_more_images_than_one_batch_and_keeps_chat_and_vote_images()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var orphans = new List<string>();
        for (var i = 0; i < 7; i++)
            orphans.Add((await hub.Blobs.PutAsync(HubDataHarness.Png(4, 4, new SKColor((byte)(10 * (i + 1)), 0, 0)), MultimodalHub.Data.Entities.Owner.LocalId, Ct)).Sha256);
        var a = await hub.Blobs.PutAsync(HubDataHarness.Png(4, 4, SKColors.White), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        var b = await hub.Blobs.PutAsync(HubDataHarness.Png(4, 4, SKColors.Black), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        await using (var db = hub.NewContext())
        {
            db.AbVotes.Add(new AbVote
            {
                Prompt = "a red star",
                ImageA = a.Sha256,
                ImageB = b.Sha256,
                ContenderA = "steps=4",
                ContenderB = "steps=20",
                Winner = AbWinner.A,
                Created = clock.GetUtcNow(),
            });
            await db.SaveChangesAsync(Ct);
        }
        clock.Advance(TimeSpan.FromDays(2));

        var cutoff = clock.GetUtcNow() - TimeSpan.FromDays(1);
        Assert.Equal(3, await hub.Blobs.SweepUnattachedAsync(cutoff, limit: 3, Ct));
        Assert.Equal(3, await hub.Blobs.SweepUnattachedAsync(cutoff, limit: 3, Ct));
        Assert.Equal(1, await hub.Blobs.SweepUnattachedAsync(cutoff, limit: 3, Ct));
        foreach (var sha in orphans)
            Assert.Null(await hub.Blobs.GetAsync(sha, Ct));
        await using (var db = hub.NewContext())
            Assert.Equal(new[] { a.Sha256, b.Sha256 }.Order(), (await db.Images.Select(i => i.Sha256).ToListAsync(Ct)).Order());
    }

    [Fact]
    public async Task A_page_that_uses_a_swept_upload_gets_a_readable_failure_and_the_work_never_runs()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var hub = await HubDataHarness.StartAsync(database, clock);
        var upload = await hub.Blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Teal), MultimodalHub.Data.Entities.Owner.LocalId, Ct);
        clock.Advance(TimeSpan.FromDays(2));
        Assert.Equal(1, await hub.Blobs.SweepUnattachedAsync(clock.GetUtcNow() - TimeSpan.FromDays(1), ct: Ct));

        var ran = false;
        var outcome = await new RunRecorder(hub.Runs, NullLogger<RunRecorder>.Instance).ExecuteAsync(
            new NewRun(RunKind.Classify, "clip-shapes", InputImages: [upload.Sha256]) { OwnerId = Owner.LocalId },
            (_, _) => { ran = true; return Task.FromResult(new RunOutputs()); }, Ct);

        Assert.False(ran);
        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.StartsWith("An image is no longer stored", outcome.Error);
    }

    [Fact]
    public async Task A_result_that_arrives_after_the_run_was_ended_elsewhere_is_reported_not_shown_as_success()
    {
        await using var hub = await HubDataHarness.StartAsync(database);
        var outcome = await new RunRecorder(hub.Runs, NullLogger<RunRecorder>.Instance).ExecuteAsync(
            new NewRun(RunKind.Chat, "shapes-chat", "name a shape") { OwnerId = Owner.LocalId },
            async (runId, ct) =>
            {
                Assert.True(await hub.Runs.MarkFailedAsync(runId, "The web app instance that ran it is gone.", ct: ct)); // as recovery does
                return new RunOutputs(Text: "a red circle");
            }, Ct);

        Assert.Equal((RunStatus.Failed, RunRecorder.LateResult), (outcome.Status, outcome.Error));
        var stored = await hub.Runs.GetAsync(outcome.RunId!.Value, OwnerScope.Local, Ct);
        Assert.Equal((RunStatus.Failed, (string?)null), (stored!.Status, stored.OutputText));
    }

    [Fact]
    public async Task The_app_sweeps_on_its_interval()
    {
        await using var host = await DataTestHost.StartAsync(database, b =>
        {
            b.Configuration["Data:UnattachedImageRetention"] = "00:00:00.050";
            b.Configuration["Data:UnattachedImageSweepInterval"] = "00:00:00.100";
        }, _ => { }, Ct);
        var blobs = host.Services.GetRequiredService<IBlobStore>();
        var image = await blobs.PutAsync(HubDataHarness.Png(8, 8, SKColors.Orange), MultimodalHub.Data.Entities.Owner.LocalId, Ct);

        using var waited = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        waited.CancelAfter(TimeSpan.FromSeconds(30));
        while (await blobs.GetAsync(image.Sha256, waited.Token) is not null)
            await Task.Delay(50, waited.Token);
        Assert.Empty(Directory.GetFiles(Path.Combine(host.Dir, "blobs"), image.Sha256 + ".*", SearchOption.AllDirectories));
    }
}

public sealed class UnattachedImageSweepTestsOnSqlite() : UnattachedImageSweepTests(TestDatabase.Sqlite);

[Collection(PostgresServer.Collection)]
public sealed class UnattachedImageSweepTestsOnPostgres(PostgresServer server) : UnattachedImageSweepTests(server);
