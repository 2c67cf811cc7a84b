using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Core;

/// <summary>Two real inference processes (`serve`) behind the real gateway process (`gateway --worker A --worker B`) on loopback ports.</summary>
public sealed class GatewayCluster : IAsyncLifetime
{
    public static readonly TimeSpan StartWithin = TimeSpan.FromMinutes(3);

    public int[] WorkerPorts { get; } = [ServiceProcess.FreePort(), ServiceProcess.FreePort()];
    public ServiceProcess?[] Workers { get; } = new ServiceProcess?[2];
    public ServiceProcess Gateway { get; private set; } = null!;
    public Uri GatewayUrl { get; } = new($"http://127.0.0.1:{ServiceProcess.FreePort()}/");
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };

    public string WorkerName(int i) => $"http://127.0.0.1:{WorkerPorts[i]}";

    public async ValueTask InitializeAsync()
    {
        Http.BaseAddress = GatewayUrl;
        var ct = TestContext.Current.CancellationToken;
        Gateway = new ServiceProcess(HubBinaries.Inference,
            ["gateway", "--worker", WorkerName(0), "--worker", WorkerName(1), "--urls", GatewayUrl.ToString().TrimEnd('/'), "--Gateway:ProbeInterval", "00:00:00.300"],
            new Dictionary<string, string>());
        await Task.WhenAll(StartWorkerAsync(0, ct), StartWorkerAsync(1, ct));
        await WaitUntilGatewaySeesAsync(0, ready: true, ct);
        await WaitUntilGatewaySeesAsync(1, ready: true, ct);
    }

    public async Task StartWorkerAsync(int i, CancellationToken ct)
    {
        Workers[i]?.Dispose();
        Workers[i] = new ServiceProcess(HubBinaries.Inference, ["serve", "--urls", WorkerName(i)], new Dictionary<string, string>
        {
            ["Inference__ModelRoots__0"] = Repo.Models,
            ["Inference__IntraOpThreads"] = "1",
            ["Limits__RequestsPerMinute"] = "0",
            ["Queues__MaxQueued"] = "64",
        });
        await Workers[i]!.WaitForOkAsync(new Uri(WorkerName(i) + "/readyz"), StartWithin, ct);
    }

    public void KillWorker(int i)
    {
        Workers[i]?.Dispose();
        Workers[i] = null;
    }

    /// <summary>Polls the gateway's worker list until worker i has the wanted readiness.</summary>
    public async Task WaitUntilGatewaySeesAsync(int i, bool ready, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + StartWithin;
        while (DateTime.UtcNow < deadline)
        {
            if (Gateway.HasExited) Assert.Fail("the gateway exited:\n" + Gateway.Log);
            try
            {
                var workers = await Http.GetFromJsonAsync<JsonElement>("v1/gateway/workers", ct);
                if (workers.EnumerateArray().Any(w => w.GetProperty("url").GetString() == WorkerName(i) && w.GetProperty("ready").GetBoolean() == ready))
                    return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200, ct);
        }
        Assert.Fail($"the gateway never saw worker {WorkerName(i)} {(ready ? "ready" : "down")}:\n{Gateway.Log}");
    }

    public ValueTask DisposeAsync()
    {
        Http.Dispose();
        Gateway?.Dispose();
        foreach (var w in Workers)
            w?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class GatewayTests(GatewayCluster cluster) : IClassFixture<GatewayCluster>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static object Chat(int tokens = 4) => new
    {
        model = "shapes-chat",
        messages = new[] { new { role = "user", content = "what is red?" } },
        max_tokens = tokens,
    };

    [Fact]
    public async Task Requests_spread_over_both_workers_and_the_gateway_has_one_v1()
    {
        var served = new Dictionary<string, int>();
        for (var i = 0; i < 12; i++)
        {
            using var response = await cluster.Http.PostAsJsonAsync("v1/chat/completions", Chat(), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var worker = response.Headers.GetValues("X-Hub-Worker").Single();
            served[worker] = served.GetValueOrDefault(worker) + 1;
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        }
        Assert.Equal(new HashSet<string> { cluster.WorkerName(0), cluster.WorkerName(1) }, served.Keys.ToHashSet());
        Assert.All(served.Values, n => Assert.InRange(n, 3, 9));

        // Requests without a model go to a worker that has a model of the endpoint's kind.
        using var embed = await cluster.Http.PostAsJsonAsync("v1/embeddings", new { input = "a red circle", model = "clip-shapes" }, Ct);
        Assert.Equal(HttpStatusCode.OK, embed.StatusCode);

        var models = await cluster.Http.GetFromJsonAsync<JsonElement>("v1/models", Ct);
        var ids = models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("shapes-chat", ids);
        Assert.Contains("sd-shapes", ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());

        using var ready = await cluster.Http.GetAsync("readyz", Ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var metrics = await cluster.Http.GetStringAsync("metrics", Ct);
        Assert.Contains($"gateway_requests_total{{worker=\"{cluster.WorkerName(0)}\",outcome=\"2xx\"}}", metrics);
        Assert.Contains("gateway_worker_ready", metrics);
    }

    [Fact]
    public async Task Unknown_models_and_bad_bodies_are_answered_clearly()
    {
        using var unknown = await cluster.Http.PostAsJsonAsync("v1/chat/completions", new { model = "no-such-model", messages = new[] { new { role = "user", content = "x" } } }, Ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no-such-model", await unknown.Content.ReadAsStringAsync(Ct));

        // Malformed JSON reaches a worker, whose 400 names the problem.
        using var bad = await cluster.Http.PostAsync("v1/chat/completions", new StringContent("{\"model\": ", System.Text.Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Image_jobs_status_events_and_cancel_stay_with_the_worker_that_owns_them()
    {
        for (var i = 0; i < 4; i++)
        {
            using var submit = await cluster.Http.PostAsJsonAsync("v1/images/jobs", new { prompt = "a red circle", model = "sd-shapes", steps = 2 }, Ct);
            Assert.Equal(HttpStatusCode.Accepted, submit.StatusCode);
            var owner = submit.Headers.GetValues("X-Hub-Worker").Single();
            var id = (await submit.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString();

            using var status = await cluster.Http.GetAsync($"v1/images/jobs/{id}", Ct);
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
            Assert.Equal(owner, status.Headers.GetValues("X-Hub-Worker").Single());

            using var events = await cluster.Http.GetAsync($"v1/images/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead, Ct);
            Assert.Equal(HttpStatusCode.OK, events.StatusCode);
            Assert.Equal(owner, events.Headers.GetValues("X-Hub-Worker").Single());
            var stream = await events.Content.ReadAsStringAsync(Ct);
            Assert.Contains("event: completed", stream);

            using var cancel = await cluster.Http.DeleteAsync($"v1/images/jobs/{id}", Ct);
            Assert.True(cancel.IsSuccessStatusCode, $"DELETE answered {(int)cancel.StatusCode}");
            Assert.Equal(owner, cancel.Headers.GetValues("X-Hub-Worker").Single());
        }
        using var unknown = await cluster.Http.GetAsync("v1/images/jobs/no-such-job", Ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task The_job_list_merges_every_workers_jobs_newest_first()
    {
        // Jobs on both workers (least outstanding, ties in turn: consecutive submits alternate).
        var owners = new Dictionary<string, string>();
        for (var i = 0; i < 10 && (owners.Values.Distinct().Count() < 2 || owners.Count < 4); i++)
        {
            using var submit = await cluster.Http.PostAsJsonAsync("v1/images/jobs", new { prompt = $"a blue square {i}", model = "sd-shapes", steps = 2 }, Ct);
            Assert.Equal(HttpStatusCode.Accepted, submit.StatusCode);
            owners[(await submit.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString()!] = submit.Headers.GetValues("X-Hub-Worker").Single();
        }
        Assert.Equal(2, owners.Values.Distinct().Count());

        using var response = await cluster.Http.GetAsync("v1/images/jobs", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new HashSet<string> { cluster.WorkerName(0), cluster.WorkerName(1) }, response.Headers.GetValues("X-Hub-Worker").Single().Split(", ").ToHashSet());
        var list = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("list", list.GetProperty("object").GetString());
        var jobs = list.GetProperty("data").EnumerateArray().Select(j => (Id: j.GetProperty("id").GetString()!, Created: j.GetProperty("created").GetInt64())).ToList();
        Assert.Equal(jobs.Count, jobs.Select(j => j.Id).Distinct().Count());
        Assert.Superset(owners.Keys.ToHashSet(), jobs.Select(j => j.Id).ToHashSet());
        Assert.Equal(jobs.Select(j => j.Created).OrderDescending(), jobs.Select(j => j.Created)); // newest first, as one worker lists them

        // The same jobs each worker lists itself, in each worker's own order.
        using var direct = new HttpClient();
        var all = new HashSet<string>();
        for (var w = 0; w < 2; w++)
        {
            var own = (await direct.GetFromJsonAsync<JsonElement>($"{cluster.WorkerName(w)}/v1/images/jobs", Ct)).GetProperty("data").EnumerateArray()
                .Select(j => j.GetProperty("id").GetString()!).ToList();
            Assert.Contains(own, id => owners.GetValueOrDefault(id) == cluster.WorkerName(w));
            Assert.Equal(own, jobs.Select(j => j.Id).Where(own.Contains));
            all.UnionWith(own);
        }
        Assert.Equal(all, jobs.Select(j => j.Id).ToHashSet());

        // A listed job's status goes to its owner.
        var first = owners.First();
        using var status = await cluster.Http.GetAsync($"v1/images/jobs/{first.Key}", Ct);
        Assert.Equal(first.Value, status.Headers.GetValues("X-Hub-Worker").Single());
    }

    [Fact]
    public async Task Bench_gateway_measures_direct_and_through_one_and_two_gateways_over_running_workers()
    {
        // The real binary's `bench gateway` on this cluster's workers: it starts its own two gateway processes.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var a in new[] { HubBinaries.Inference, "bench", "gateway", "--worker", cluster.WorkerName(0), "--worker", cluster.WorkerName(1),
                     "--pairs", "20", "--requests", "40", "--concurrency", "4", "--warmup", "2", "--duration", "120" })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        Assert.True(process.ExitCode == 0, await stderr);
        var report = JsonDocument.Parse(await stdout).RootElement;

        Assert.Equal("/v1/embeddings", report.GetProperty("route").GetString());
        Assert.False(report.GetProperty("workers_started_here").GetBoolean());
        Assert.Equal([cluster.WorkerName(0), cluster.WorkerName(1)], report.GetProperty("workers").EnumerateArray().Select(w => w.GetString()));
        Assert.Equal(0, report.GetProperty("errors").GetInt32());
        var overhead = report.GetProperty("overhead");
        Assert.Equal((20, 0), (overhead.GetProperty("pairs").GetInt32(), overhead.GetProperty("errors").GetInt32()));
        foreach (var side in new[] { "direct", "gateway" })
            Assert.True(overhead.GetProperty($"{side}_p50_ms").GetDouble() is var p50 && p50 > 0 && p50 <= overhead.GetProperty($"{side}_p95_ms").GetDouble(), side);
        Assert.Equal(Math.Round(overhead.GetProperty("gateway_p50_ms").GetDouble() - overhead.GetProperty("direct_p50_ms").GetDouble(), 3),
            overhead.GetProperty("added_p50_ms").GetDouble(), 3);

        var levels = report.GetProperty("throughput").EnumerateArray().ToList();
        Assert.Equal(["worker 1 directly", "gateway, 1 worker", "gateway, 2 workers"], levels.Select(l => l.GetProperty("target").GetString()));
        Assert.All(levels, l => Assert.Equal((40, 40, 4), (l.GetProperty("level").GetProperty("requests").GetInt32(), l.GetProperty("level").GetProperty("ok").GetInt32(),
            l.GetProperty("level").GetProperty("concurrency").GetInt32())));
        Assert.False(levels[0].TryGetProperty("served_by_worker", out _)); // sent straight to the worker: no gateway counted it
        // What each gateway's workers answered during its level: all through worker 1 alone, then spread over both.
        var one = levels[1].GetProperty("served_by_worker").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.Equal(new Dictionary<string, long> { [cluster.WorkerName(0)] = 40 }, one);
        var two = levels[2].GetProperty("served_by_worker").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.Equal(40, two.Values.Sum());
        Assert.All(new[] { cluster.WorkerName(0), cluster.WorkerName(1) }, w => Assert.True(two.GetValueOrDefault(w) > 0, $"{w} served none: {string.Join(", ", two)}"));
        Assert.Equal(Math.Round(levels[2].GetProperty("level").GetProperty("requests_per_second").GetDouble() / levels[1].GetProperty("level").GetProperty("requests_per_second").GetDouble(), 2),
            report.GetProperty("two_workers_over_one").GetDouble(), 2);
    }

    [Fact]
    public async Task A_worker_killed_under_load_fails_only_its_requests_in_flight_and_gets_traffic_again_when_back()
    {
        const int Clients = 6;
        var killedAt = DateTime.MaxValue;
        var results = new System.Collections.Concurrent.ConcurrentBag<(DateTime Started, HttpStatusCode? Status, string? Worker, string Body)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        async Task Client()
        {
            while (!stop.IsCancellationRequested)
            {
                var started = DateTime.UtcNow;
                try
                {
                    using var response = await cluster.Http.PostAsJsonAsync("v1/chat/completions", Chat(16), stop.Token);
                    var worker = response.Headers.TryGetValues("X-Hub-Worker", out var w) ? w.Single() : null;
                    results.Add((started, response.StatusCode, worker, await response.Content.ReadAsStringAsync(stop.Token)));
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (HttpRequestException e)
                {
                    results.Add((started, null, null, e.Message));
                }
            }
        }

        var clients = Enumerable.Range(0, Clients).Select(_ => Task.Run(Client, Ct)).ToList();
        // Under way on both (the first requests load the model), then worker 1 is killed.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (DateTime.UtcNow < deadline && !(results.Count(r => r.Worker == cluster.WorkerName(1) && r.Status == HttpStatusCode.OK) >= 3
                                                && results.Any(r => r.Worker == cluster.WorkerName(0) && r.Status == HttpStatusCode.OK)))
            await Task.Delay(100, Ct);
        Assert.Contains(results, r => r.Worker == cluster.WorkerName(1) && r.Status == HttpStatusCode.OK);
        cluster.KillWorker(1);
        killedAt = DateTime.UtcNow;
        var before = results.Count;
        deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (DateTime.UtcNow < deadline && results.Count < before + 30)
            await Task.Delay(100, Ct);
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        var failed = results.Where(r => r.Status != HttpStatusCode.OK).ToList();
        // Only requests already in flight when the worker died can fail (at most one per client), each with a 502 naming it.
        Assert.InRange(failed.Count, 0, Clients);
        Assert.All(failed, f =>
        {
            Assert.True(f.Started < killedAt, $"a request started after the kill failed: {f.Status} {f.Body}");
            Assert.Equal(HttpStatusCode.BadGateway, f.Status);
            Assert.Contains(cluster.WorkerName(1), f.Body);
            Assert.Contains("not retried", f.Body);
        });
        var after = results.Where(r => r.Started > killedAt).ToList();
        Assert.NotEmpty(after);
        Assert.All(after, r => Assert.Equal((HttpStatusCode?)HttpStatusCode.OK, r.Status));
        Assert.All(after, r => Assert.Equal(cluster.WorkerName(0), r.Worker));
        await cluster.WaitUntilGatewaySeesAsync(1, ready: false, Ct);

        // It comes back on the same address: the gateway finds it ready and sends it traffic again.
        await cluster.StartWorkerAsync(1, Ct);
        await cluster.WaitUntilGatewaySeesAsync(1, ready: true, Ct);
        var workers = new HashSet<string>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await cluster.Http.PostAsJsonAsync("v1/chat/completions", Chat(), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            workers.Add(response.Headers.GetValues("X-Hub-Worker").Single());
        }
        Assert.Contains(cluster.WorkerName(1), workers);
    }
}

/// <summary>A worker that needs API keys (as any worker listening beyond loopback does) behind real gateway processes.</summary>
public sealed class GatewayApiKeyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_gateway_probes_a_keyed_worker_with_Gateway_ApiKey_and_callers_keep_their_own()
    {
        await using var web = await WebAppHost.StartAsync(Ct);
        var ann = await web.CreateAccountAsync("ann", "gateway-key-pw-1", MultimodalHub.Data.Entities.HubRoles.User);
        var key = await web.Services.GetRequiredService<MultimodalHub.Data.Accounts.IApiKeyStore>()
            .CreateAsync(new MultimodalHub.Data.Accounts.OwnerScope(ann), "gateway", ct: Ct);
        var workerUrl = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        using var worker = new ServiceProcess(HubBinaries.Inference, ["serve", "--urls", workerUrl], new Dictionary<string, string>
        {
            ["Inference__ModelRoots__0"] = Repo.Models,
            ["Inference__IntraOpThreads"] = "1",
            ["Auth__RequireApiKey"] = "true",
            ["Data__DatabasePath"] = web.DatabasePath,
        });
        Uri Gateway() => new($"http://127.0.0.1:{ServiceProcess.FreePort()}/");
        var (keyed, bare) = (Gateway(), Gateway());
        string[] Args(Uri url) => ["gateway", "--worker", workerUrl, "--urls", url.ToString().TrimEnd('/'), "--Gateway:ProbeInterval", "00:00:00.300"];
        using var withKey = new ServiceProcess(HubBinaries.Inference, Args(keyed), new Dictionary<string, string> { ["Gateway__ApiKey"] = key.Secret });
        using var withoutKey = new ServiceProcess(HubBinaries.Inference, Args(bare), new Dictionary<string, string>());
        await worker.WaitForOkAsync(new Uri(workerUrl + "/readyz"), GatewayCluster.StartWithin, Ct);
        await withKey.WaitForOkAsync(new Uri(keyed, "readyz"), GatewayCluster.StartWithin, Ct); // ready: its probe's key was accepted

        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
        // Without Gateway:ApiKey the worker stays "not ready", and says why.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        JsonElement seen;
        do
        {
            await Task.Delay(300, Ct);
            seen = (await http.GetFromJsonAsync<JsonElement>(new Uri(bare, "v1/gateway/workers"), Ct))[0];
        }
        while (seen.GetProperty("problem").ValueKind != JsonValueKind.String && DateTime.UtcNow < deadline);
        Assert.False(seen.GetProperty("ready").GetBoolean());
        Assert.Contains("Gateway:ApiKey", seen.GetProperty("problem").GetString());

        // Proxied requests carry their caller's key: none is a 401 from the worker, the user's own is answered.
        var body = new { model = "clip-shapes", input = "a red circle" };
        using var anonymous = await http.PostAsJsonAsync(new Uri(keyed, "v1/embeddings"), body, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(keyed, "v1/embeddings")) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.Secret);
        using var answered = await http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(workerUrl, answered.Headers.GetValues("X-Hub-Worker").Single());
    }
}
