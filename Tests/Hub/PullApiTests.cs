using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Hub;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Hub;

/// <summary>The service's pull API against the loopback hub: preview, job with progress, cancel, resume after a restart, delete.</summary>
public sealed class PullApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly JsonSerializerOptions Json = HubJson.Create();

    private static InferenceFactory Service(HubTestBed bed) =>
        new(bed.ModelsRoot, settings: bed.Settings.Where(s => s.Key != "Inference:ModelRoots:0").ToDictionary(s => s.Key, s => s.Value ?? ""));

    private static async Task<PullJobInfo> WaitAsync(HttpClient client, string id, Func<PullJobInfo, bool> until)
    {
        for (var i = 0; i < 600; i++)
        {
            var job = (await client.GetFromJsonAsync<PullJobInfo>($"/v1/models/pulls/{id}", Json, Ct))!;
            if (until(job)) return job;
            await Task.Delay(50, Ct);
        }
        throw new TimeoutException($"pull {id} did not get there");
    }

    private static bool Finished(PullJobInfo j) => j.Status is PullStatus.Completed or PullStatus.Failed or PullStatus.Cancelled;

    [Fact]
    public async Task Preview_then_pull_then_the_model_is_listed_and_runs_without_a_restart_and_can_be_deleted()
    {
        await using var bed = await HubTestBed.StartAsync();
        using var factory = Service(bed);
        using var client = factory.CreateClient();
        Assert.DoesNotContain("clip-shapes", await client.GetStringAsync("/v1/models", Ct));

        var preview = (await client.GetFromJsonAsync<PullPreview>("/v1/models/pulls/preview?repo=local/clip-shapes", Json, Ct))!;
        Assert.Equal(ModelKind.Clip, preview.Kind);
        Assert.Equal("fp32", preview.Variant);
        Assert.Contains(preview.Files, f => f is { Path: "onnx/vision_model.onnx", Lfs: true, Size: 2492224 });
        Assert.Equal(preview.Files.Sum(f => f.Size), preview.TotalBytes);
        Assert.Equal(preview.TotalBytes, preview.DownloadBytes);
        Assert.True(preview.FreeBytes > 0);
        Assert.DoesNotContain(bed.Hub.Requests, r => r.Route == HubRoute.Cdn);

        var start = await client.PostAsJsonAsync("/v1/models/pulls", new ModelPullRequest("local/clip-shapes"), Json, Ct);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var job = (await start.Content.ReadFromJsonAsync<PullJobInfo>(Json, Ct))!;
        Assert.Equal($"/v1/models/pulls/{job.Id}", start.Headers.Location?.OriginalString);
        var done = await WaitAsync(client, job.Id, Finished);
        Assert.True(done.Status == PullStatus.Completed, done.Error);
        Assert.Equal(done.TotalBytes, done.DoneBytes);
        Assert.All(done.Files, f => Assert.Equal(PullFileStatus.Done, f.Status));
        Assert.Contains(job.Id, await client.GetStringAsync("/v1/models/pulls", Ct));

        var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", Ct)).RootElement.GetProperty("data");
        Assert.Contains(models.EnumerateArray(), m => m.GetProperty("id").GetString() == "clip-shapes" && m.GetProperty("status").GetString() == "ready");
        var classify = await client.PostAsJsonAsync("/v1/classify", new
        {
            model = "clip-shapes",
            images = new[] { Convert.ToBase64String(File.ReadAllBytes(Repo.Model("clip-shapes", "goldens", "image0.png"))) },
            labels = new[] { "red circle", "blue square" },
        }, Ct);
        Assert.Equal(HttpStatusCode.OK, classify.StatusCode);
        Assert.Contains("red circle", await classify.Content.ReadAsStringAsync(Ct));

        var deleted = await client.DeleteAsync("/v1/models/clip-shapes", Ct);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.True((await deleted.Content.ReadFromJsonAsync<ModelDeleted>(Json, Ct))!.Bytes > 5_000_000);
        Assert.False(Directory.Exists(bed.Model("clip-shapes")));
        Assert.DoesNotContain("clip-shapes", await client.GetStringAsync("/v1/models", Ct));
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/v1/models/clip-shapes", Ct)).StatusCode);
    }

    [Fact]
    public async Task Bad_requests_and_hub_errors_are_problem_details()
    {
        await using var bed = await HubTestBed.StartAsync(token: "hf_secret");
        using var factory = Service(bed);
        using var client = factory.CreateClient();
        var badVariant = await client.PostAsJsonAsync("/v1/models/pulls", new ModelPullRequest("local/clip-shapes", Variant: "fp8"), Json, Ct);
        await ApiAsserts.AssertProblem(badVariant, HttpStatusCode.BadRequest, "variant");
        var badRepo = await client.PostAsJsonAsync("/v1/models/pulls", new ModelPullRequest("no repo"), Json, Ct);
        await ApiAsserts.AssertProblem(badRepo, HttpStatusCode.BadRequest, "repo");

        var gated = await client.GetAsync("/v1/models/pulls/preview?repo=local/clip-shapes", Ct);
        Assert.Equal(HttpStatusCode.Forbidden, gated.StatusCode);
        Assert.Contains("HF_TOKEN", await gated.Content.ReadAsStringAsync(Ct));
        Assert.DoesNotContain("hf_secret", await gated.Content.ReadAsStringAsync(Ct));

        var job = (await (await client.PostAsJsonAsync("/v1/models/pulls", new ModelPullRequest("local/nothing"), Json, Ct)).Content.ReadFromJsonAsync<PullJobInfo>(Json, Ct))!;
        var failed = await WaitAsync(client, job.Id, Finished);
        Assert.Equal(PullStatus.Failed, failed.Status);
        Assert.Equal("not_found", failed.ErrorKind);
        Assert.Contains("local/nothing was not found", failed.Error);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/models/pulls/nope", Ct)).StatusCode);
    }

    [Fact]
    public async Task A_cancelled_pull_stops_and_deletes_its_partial_files()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Faults.BodyRule = (route, _, _) => route == HubRoute.Cdn ? new BodyFault(ChunkDelay: TimeSpan.FromMilliseconds(150)) : null;
        using var factory = Service(bed);
        using var client = factory.CreateClient();
        var job = (await (await client.PostAsJsonAsync("/v1/models/pulls", new ModelPullRequest("local/shapes-chat"), Json, Ct)).Content.ReadFromJsonAsync<PullJobInfo>(Json, Ct))!;
        // Running, with bytes arrived and a rate (measured over at least 50 ms).
        var running = await WaitAsync(client, job.Id, j => j.BytesPerSecond > 0 && j.Files.Any(f => f is { Status: PullFileStatus.Downloading, Done: > 0 }));
        Assert.Equal(PullStatus.Running, running.Status);
        Assert.NotNull(running.EtaSeconds);
        var cancelled = (await (await client.DeleteAsync($"/v1/models/pulls/{job.Id}", Ct)).Content.ReadFromJsonAsync<PullJobInfo>(Json, Ct))!;
        Assert.Equal(PullStatus.Cancelled, cancelled.Status);
        Assert.False(Directory.Exists(Path.Combine(bed.ModelsRoot, ModelPuller.StagingFolder, "shapes-chat")));
        Assert.False(Directory.Exists(bed.Model("shapes-chat")));
    }

    [Fact]
    public async Task A_pull_interrupted_by_a_shutdown_resumes_at_the_next_start_from_its_partial_file()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Faults.BodyRule = (route, _, n) => route == HubRoute.Cdn && n == 0 ? new BodyFault(ChunkDelay: TimeSpan.FromMilliseconds(150)) : null;
        var partial = Path.Combine(bed.ModelsRoot, ModelPuller.StagingFolder, "shapes-chat", "onnx", "model.onnx.incomplete");
        using (var first = Service(bed))
        {
            using var client = first.CreateClient();
            var job = (await (await client.PostAsJsonAsync("/v1/models/pulls", new ModelPullRequest("local/shapes-chat"), Json, Ct)).Content.ReadFromJsonAsync<PullJobInfo>(Json, Ct))!;
            await WaitAsync(client, job.Id, j => j.Files.Any(f => f is { Path: "onnx/model.onnx", Done: > 0 }));
        }
        Assert.True(File.Exists(partial));
        var kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, 5_430_337);
        Assert.True(File.Exists(Path.Combine(bed.ModelsRoot, ModelPuller.StagingFolder, "shapes-chat.json")));

        using var second = Service(bed);
        using var again = second.CreateClient();
        var jobs = (await again.GetFromJsonAsync<PullJobList>("/v1/models/pulls", Json, Ct))!;
        var resumed = await WaitAsync(again, Assert.Single(jobs.Data).Id, Finished);
        Assert.True(resumed.Status == PullStatus.Completed, resumed.Error);
        Assert.Contains(bed.Hub.Requests, r => r is { Route: HubRoute.Cdn, Path: "onnx/model.onnx" } && r.Range is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range != "bytes=0-");
        Assert.True(File.ReadAllBytes(Repo.Model("shapes-chat", "onnx", "model.onnx")).AsSpan().SequenceEqual(File.ReadAllBytes(bed.Model("shapes-chat", "onnx", "model.onnx"))));
        Assert.Contains("shapes-chat", await again.GetStringAsync("/v1/models", Ct));
    }
}
