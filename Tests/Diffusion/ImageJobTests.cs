using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Tests.Core;

namespace MultimodalHub.Tests.Diffusion;

/// <summary>The job API: 202 + id, server-sent events in order, cancellation, FIFO queue, 429 when full.</summary>
public sealed class ImageJobTests(InferenceFixture fixture) : IClassFixture<InferenceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal sealed record Sse(string Name, JsonElement Data);

    private static JsonObject Body(int steps, long seed = 7, int n = 1, int? previewEvery = null)
    {
        var body = new JsonObject { ["prompt"] = "a green square", ["steps"] = steps, ["seed"] = seed, ["n"] = n, ["scheduler"] = "euler" };
        if (previewEvery is { } p) body["preview_every"] = p;
        return body;
    }

    private static async Task<JsonElement> SubmitAsync(HttpClient client, JsonObject body)
    {
        var response = await client.PostAsJsonAsync("/v1/images/jobs", body, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        var job = JsonDocument.Parse(text).RootElement;
        Assert.Equal($"/v1/images/jobs/{job.GetProperty("id").GetString()}", response.Headers.Location?.OriginalString);
        return job;
    }

    /// <summary>Reads the event stream to its end; onEvent may act on each event as it arrives.</summary>
    internal static async Task<List<Sse>> ReadEventsAsync(HttpClient client, string id, Func<Sse, Task>? onEvent = null)
    {
        using var response = await client.GetAsync($"/v1/images/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        var events = new List<Sse>();
        string? name = null, data = null;
        while (await reader.ReadLineAsync(Ct) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
            else if (line.Length == 0 && data is not null)
            {
                var e = new Sse(name ?? "message", JsonDocument.Parse(data).RootElement.Clone());
                events.Add(e);
                if (onEvent is not null) await onEvent(e);
                name = data = null;
            }
        }
        return events;
    }

    [Fact]
    public async Task Job_events_arrive_in_order_and_end_with_completed_and_the_result_matches_the_sync_api()
    {
        using var client = fixture.Factory.CreateClient();
        var job = await SubmitAsync(client, Body(steps: 10, previewEvery: 3));
        var id = job.GetProperty("id").GetString()!;
        Assert.Contains(job.GetProperty("status").GetString(), new[] { "queued", "running" });

        var events = await ReadEventsAsync(client, id);
        var names = events.Select(e => e.Name).ToList();
        Assert.Equal("queued", names[0]);
        Assert.Equal("started", names[1]);
        Assert.Equal("completed", names[^1]);
        Assert.Equal("image", names[^2]);
        var steps = events.Where(e => e.Name == "progress").Select(e => e.Data.GetProperty("progress").GetProperty("step").GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(1, 10), steps);
        var last = events.Last(e => e.Name == "progress").Data.GetProperty("progress");
        Assert.Equal(1.0, last.GetProperty("fraction").GetDouble());
        Assert.Equal(0.0, last.GetProperty("eta_seconds").GetDouble());
        var previews = events.Where(e => e.Name == "preview").ToList();
        Assert.Equal([3, 6, 9], previews.Select(p => p.Data.GetProperty("step").GetInt32()));
        Assert.All(previews, p => Assert.Equal(new byte[] { 0x89, 0x50 }, Convert.FromBase64String(p.Data.GetProperty("b64_png").GetString()!)[..2]));
        // each preview comes right after its step's progress event
        foreach (var p in previews)
        {
            var i = events.IndexOf(p);
            Assert.Equal(p.Data.GetProperty("step").GetInt32(), events[i - 1].Data.GetProperty("progress").GetProperty("step").GetInt32());
        }

        var info = JsonDocument.Parse(await client.GetStringAsync($"/v1/images/jobs/{id}", Ct)).RootElement;
        Assert.Equal("succeeded", info.GetProperty("status").GetString());
        var b64 = info.GetProperty("result").GetProperty("data")[0].GetProperty("b64_json").GetString();
        Assert.Equal(b64, events[^1].Data.GetProperty("result").GetProperty("data")[0].GetProperty("b64_json").GetString());

        var sync = await client.PostAsJsonAsync("/v1/images/generations", Body(steps: 10), Ct);
        var syncB64 = JsonDocument.Parse(await sync.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("data")[0].GetProperty("b64_json").GetString();
        Assert.Equal(syncB64, b64);

        // a late subscriber replays the whole stream but the previews (dropped when the job finished)
        Assert.Equal(names.Where(n => n != "preview"), (await ReadEventsAsync(client, id)).Select(e => e.Name));

        // the listing carries no images; the job itself still has them
        var list = JsonDocument.Parse(await client.GetStringAsync("/v1/images/jobs", Ct)).RootElement.GetProperty("data");
        var listed = list.EnumerateArray().Single(j => j.GetProperty("id").GetString() == id);
        Assert.Equal("succeeded", listed.GetProperty("status").GetString());
        Assert.True(!listed.TryGetProperty("result", out var r) || r.ValueKind == JsonValueKind.Null, listed.GetRawText());
    }

    [Fact]
    public async Task Finished_jobs_are_dropped_when_their_images_exceed_MaxRetainedBytes()
    {
        using var factory = fixture.Factory.WithWebHostBuilder(b => b.UseSetting("Diffusion:MaxRetainedBytes", "1"));
        using var client = factory.CreateClient();
        var first = (await SubmitAsync(client, Body(steps: 2))).GetProperty("id").GetString()!;
        await ReadEventsAsync(client, first);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/images/jobs/{first}", Ct)).StatusCode);
        var second = (await SubmitAsync(client, Body(steps: 2))).GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v1/images/jobs/{first}", Ct)).StatusCode);
        await ReadEventsAsync(client, second);
        // deleting a dropped job is a 404, never a 500
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync($"/v1/images/jobs/{first}", Ct)).StatusCode);
    }

    [Fact]
    public async Task Shutdown_cancels_running_jobs_and_waits_for_them()
    {
        var factory = fixture.Factory.WithWebHostBuilder(_ => { });
        using var client = factory.CreateClient();
        var id = (await SubmitAsync(client, Body(steps: 150, n: 8))).GetProperty("id").GetString()!;
        var jobs = factory.Services.GetRequiredService<MultimodalHub.Inference.Engines.Diffusion.ImageJobs>();
        var job = jobs.Get(id)!;
        await factory.DisposeAsync(); // stops the host: ImageJobs.StopAsync
        Assert.True(job.IsFinished, $"job still {job.Status} after shutdown");
        Assert.Equal(MultimodalHub.Contracts.ImageJobStatus.Cancelled, job.Status);
    }

    [Fact]
    public async Task Delete_cancels_a_running_job_within_a_step()
    {
        using var client = fixture.Factory.CreateClient();
        // 256x256: steps slow enough that the HTTP round trips of the test (the event reaching it, the DELETE) are a
        // few steps, even on a loaded machine.
        var body = Body(steps: 150, n: 8);
        body["size"] = "256x256";
        var job = await SubmitAsync(client, body);
        var id = job.GetProperty("id").GetString()!;
        JsonElement? cancelled = null;
        var progressAtCancel = 0;
        var events = await ReadEventsAsync(client, id, async e =>
        {
            if (e.Name != "progress" || cancelled is not null) return;
            progressAtCancel = e.Data.GetProperty("progress").GetProperty("step").GetInt32();
            var response = await client.DeleteAsync($"/v1/images/jobs/{id}", Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            cancelled = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.Clone();
        });
        Assert.NotNull(cancelled);
        Assert.Equal("cancelled", cancelled.Value.GetProperty("status").GetString());
        Assert.Equal("cancelled", events[^1].Name);
        var progress = events.Where(e => e.Name == "progress").ToList();
        Assert.True(progress.Count < 150 * 8, "the job ran to the end");
        Assert.DoesNotContain(events, e => e.Name is "completed" or "image");
        // the stream was being read while DELETE ran; steps after the one that triggered it are few (ORT step in flight + events queued before cancel)
        var info = JsonDocument.Parse(await client.GetStringAsync($"/v1/images/jobs/{id}", Ct)).RootElement;
        Assert.Equal("cancelled", info.GetProperty("status").GetString());
        Assert.True(progress.Count - progressAtCancel <= 5 || progress.Count <= 5, $"{progress.Count - progressAtCancel} steps ran after cancel was asked");
    }

    [Fact]
    public async Task Five_jobs_run_one_at_a_time_in_arrival_order_each_with_progress()
    {
        using var client = fixture.Factory.CreateClient();
        var ids = new List<string>();
        var positions = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            var job = await SubmitAsync(client, Body(steps: 12, seed: 20 + i));
            ids.Add(job.GetProperty("id").GetString()!);
            positions.Add(job.TryGetProperty("position", out var p) ? p.GetInt32() : 0);
        }
        Assert.Equal(positions.OrderBy(p => p), positions);
        Assert.True(positions[^1] >= 1, "later jobs waited in the queue");

        var infos = new List<JsonElement>();
        foreach (var id in ids)
        {
            var events = await ReadEventsAsync(client, id);
            Assert.Equal("completed", events[^1].Name);
            Assert.Equal(12, events.Count(e => e.Name == "progress"));
            infos.Add(JsonDocument.Parse(await client.GetStringAsync($"/v1/images/jobs/{id}", Ct)).RootElement);
        }
        for (var i = 1; i < 5; i++)
        {
            Assert.True(infos[i].GetProperty("started_at").GetDouble() >= infos[i - 1].GetProperty("finished_at").GetDouble() - 0.001,
                $"job {i} started before job {i - 1} finished");
        }
    }

    [Fact]
    public async Task Unknown_job_is_404_everywhere_and_bad_bodies_are_400_at_submit()
    {
        using var client = fixture.Factory.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/images/jobs/nope", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/images/jobs/nope/events", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/v1/images/jobs/nope", Ct)).StatusCode);
        var bad = Body(steps: 500);
        var response = await client.PostAsJsonAsync("/v1/images/jobs", bad, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_full_queue_answers_429_at_submit()
    {
        using var factory = fixture.Factory.WithWebHostBuilder(b => b.UseSetting("Queues:MaxQueued", "1"));
        using var client = factory.CreateClient();
        var running = await SubmitAsync(client, Body(steps: 150, n: 8));
        var waiting = await SubmitAsync(client, Body(steps: 150, n: 8));
        var response = await client.PostAsJsonAsync("/v1/images/jobs", Body(steps: 150, n: 8), Ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        foreach (var job in new[] { waiting, running })
            Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/v1/images/jobs/{job.GetProperty("id").GetString()}", Ct)).StatusCode);
    }
}
