using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Gateway;

/// <summary>
/// `bench gateway` output. Overhead: the same request sent alternately straight to worker 1 and through a gateway
/// that has only worker 1, one at a time (added = through the gateway − direct, at p50 and p95; paired = the median of
/// the per-pair differences). Throughput: a closed loop at one concurrency straight to worker 1, through the
/// one-worker gateway, and through a gateway in front of both workers (ratio = two workers ÷ one, through gateways).
/// </summary>
public sealed record GatewayBenchReport(
    string Workload,
    string Route,
    BenchMachine Machine,
    IReadOnlyList<double>? LoadAverageBefore,
    IReadOnlyList<double>? LoadAverageAfter,
    IReadOnlyList<string> Workers,
    bool WorkersStartedHere,
    int? WorkerThreads,
    GatewayOverhead Overhead,
    IReadOnlyList<GatewayThroughput> Throughput,
    double? TwoWorkersOverOne,
    int Errors);

public sealed record GatewayOverhead(
    int Pairs,
    int Errors,
    double? DirectP50Ms,
    double? DirectP95Ms,
    double? GatewayP50Ms,
    double? GatewayP95Ms,
    double? AddedP50Ms,
    double? AddedP95Ms,
    double? PairedMedianAddedMs);

/// <param name="ServedByWorker">Requests each worker answered during the level (from the gateway's /v1/gateway/workers); null when sent straight to a worker.</param>
public sealed record GatewayThroughput(string Target, string Url, int Workers, BenchLevelResult Level, IReadOnlyDictionary<string, long>? ServedByWorker);

/// <summary>
/// `bench gateway [--worker URL --worker URL] [--workload embed] [--pairs 300] [--concurrency 8] [--requests 3000]
/// [--duration 20] [--warmup 20] [--threads 1] [--models DIR]`: what the gateway costs per request and what a second
/// worker buys. Without --worker it starts two `serve` workers itself (this binary, free loopback ports, the model
/// roots, --threads ONNX Runtime threads each, rate limiter off); then two real gateway processes (`gateway`, as
/// `./hub cli gateway` runs): one in front of worker 1, one in front of both. Prints <see cref="GatewayBenchReport"/>
/// as JSON and a summary on stderr; everything it started is stopped at the end. Exit code 1 when a request failed.
/// </summary>
public sealed class GatewayBenchCommand(ModelRegistry registry) : ICliCommand
{
    private static readonly TimeSpan StartWithin = TimeSpan.FromMinutes(3);

    public string Name => "bench gateway";

    public string Summary => "gateway overhead vs direct (p50/p95) and throughput with one and two workers: bench gateway [--worker URL --worker URL] [--concurrency 8]";

    public Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct) => RunAsync(args, stdout, Console.Error, ct);

    /// <summary>The benchmark's settings after validation.</summary>
    private sealed record Settings(IReadOnlyList<Uri> Workers, string Workload, int Pairs, int Concurrency, int Requests, TimeSpan Duration,
        int Warmup, int Threads, string? Models, TimeSpan Timeout);

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        args.EnsureOnly("worker", "workload", "pairs", "concurrency", "requests", "duration", "warmup", "threads", "models", "timeout");
        var settings = Parse(args);
        var roots = settings.Models is { } m ? [Path.GetFullPath(m)] : registry.Roots;
        var workload = BenchWorkloads.Create(settings.Workload, roots);
        var loadBefore = BenchEnvironment.LoadAverage();
        var children = new List<ChildProcess>();
        var clients = new List<HttpClient>();
        try
        {
            using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var workers = settings.Workers;
            if (workers.Count == 0)
            {
                workers = [BenchEnvironment.FreeLoopbackUrl(), BenchEnvironment.FreeLoopbackUrl()];
                foreach (var w in workers)
                    children.Add(new ChildProcess($"worker {Authority(w)}", WorkerArgs(w, roots, settings.Threads)));
                stderr.WriteLine($"bench gateway: starting workers {string.Join(", ", workers.Select(Authority))} ({settings.Threads} ONNX Runtime thread(s) each)");
                await Task.WhenAll(children.Select((c, i) => c.WaitUntilAsync(probe, new Uri(workers[i], "readyz"), r => Task.FromResult(r.IsSuccessStatusCode), StartWithin, ct)));
            }
            var oneUrl = BenchEnvironment.FreeLoopbackUrl();
            var gateways = new List<(string Target, Uri Url, IReadOnlyList<Uri> Behind)> { ("gateway, 1 worker", oneUrl, [workers[0]]) };
            if (workers.Count > 1)
                gateways.Add(("gateway, 2 workers", BenchEnvironment.FreeLoopbackUrl(), workers));
            var gatewayProcesses = gateways.Select(g => new ChildProcess($"gateway {Authority(g.Url)}", GatewayArgs(g.Url, g.Behind))).ToList();
            children.AddRange(gatewayProcesses);
            // Ready when the gateway sees every worker behind it ready.
            await Task.WhenAll(gateways.Select((g, i) => gatewayProcesses[i].WaitUntilAsync(probe, new Uri(g.Url, "v1/gateway/workers"),
                async r => r.IsSuccessStatusCode && (await r.Content.ReadFromJsonAsync<JsonElement>(ct)).EnumerateArray().Count(w => w.GetProperty("ready").GetBoolean()) == g.Behind.Count,
                StartWithin, ct)));

            HttpClient Client(Uri url)
            {
                var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
                {
                    BaseAddress = url,
                    Timeout = settings.Timeout,
                };
                clients.Add(client);
                return client;
            }
            var direct = Client(workers[0]);
            var targets = new List<(string Target, Uri Url, int Workers, HttpClient Http, bool Gateway)> { ("worker 1 directly", workers[0], 1, direct, false) };
            targets.AddRange(gateways.Select(g => (g.Target, g.Url, g.Behind.Count, Client(g.Url), true)));
            if (workers.Count > 1)
                targets.Add(("worker 2 directly", workers[1], 1, Client(workers[1]), false)); // warmed up, not measured

            stderr.WriteLine($"bench gateway: {workload.Name} ({workload.Route}), warm-up {settings.Warmup} per target");
            foreach (var t in targets)
                for (var i = 0; i < settings.Warmup; i++)
                {
                    var sample = await BenchCommand.SendAsync(t.Http, workload, ct);
                    if (i == settings.Warmup - 1 && !sample.Ok)
                        throw new InvalidOperationException($"warm-up request to {t.Target} ({t.Url}) failed: {BenchCommand.Describe(sample)}");
                }

            var overhead = await OverheadAsync(direct, targets[1].Http, workload, settings.Pairs, ct);
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bench gateway: overhead over {overhead.Pairs} pairs: direct p50 {overhead.DirectP50Ms:0.000} ms p95 {overhead.DirectP95Ms:0.000} ms, gateway p50 {overhead.GatewayP50Ms:0.000} ms p95 {overhead.GatewayP95Ms:0.000} ms, added p50 {overhead.AddedP50Ms:0.000} ms p95 {overhead.AddedP95Ms:0.000} ms (paired median {overhead.PairedMedianAddedMs:0.000} ms)"));

            var throughput = new List<GatewayThroughput>();
            foreach (var t in targets.Where(t => t.Target != "worker 2 directly"))
            {
                var before = t.Gateway ? await ServedAsync(probe, t.Url, ct) : null;
                var level = await BenchCommand.RunLevelAsync(t.Http, workload, settings.Concurrency, settings.Requests, settings.Duration, null, ct);
                var after = t.Gateway ? await ServedAsync(probe, t.Url, ct) : null;
                var served = after?.ToDictionary(kv => kv.Key, kv => kv.Value - before!.GetValueOrDefault(kv.Key), StringComparer.Ordinal);
                throughput.Add(new GatewayThroughput(t.Target, Authority(t.Url), t.Workers, level, served));
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"bench gateway: {t.Target,-20} concurrency {level.Concurrency}: {level.RequestsPerSecond,8:0.0} requests/s, p50 {level.P50Ms:0.0} ms, p95 {level.P95Ms:0.0} ms, {level.Ok}/{level.Requests} ok{(served is null ? "" : $", served {string.Join(" / ", served.Values)}")}"));
            }
            double? ratio = throughput.Count == 3 && throughput[1].Level.RequestsPerSecond > 0
                ? Math.Round(throughput[2].Level.RequestsPerSecond / throughput[1].Level.RequestsPerSecond, 2)
                : null;
            var errors = overhead.Errors + throughput.Sum(t => t.Level.Requests - t.Level.Ok);
            var report = new GatewayBenchReport(workload.Name, workload.Route,
                new BenchMachine(Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription),
                loadBefore, BenchEnvironment.LoadAverage(), workers.Select(Authority).ToList(), settings.Workers.Count == 0, settings.Workers.Count == 0 ? settings.Threads : null,
                overhead, throughput, ratio, errors);
            CliApp.WriteJson(stdout, report);
            if (ratio is not null)
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench gateway: two workers ÷ one through the gateway: ×{ratio:0.00} on {Environment.ProcessorCount} cores"));
            return errors > 0 ? 1 : 0;
        }
        finally
        {
            foreach (var c in clients)
                c.Dispose();
            foreach (var c in children)
                c.Dispose();
        }
    }

    private static Settings Parse(CliArgs args)
    {
        var workers = new List<Uri>();
        foreach (var w in args.GetAll("worker"))
        {
            if (!Uri.TryCreate(w.TrimEnd('/') + "/", UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                throw new CliUsageException($"--worker must be an http(s) URL such as http://127.0.0.1:5081, not '{w}'.");
            if (!url.IsLoopback)
                throw new CliUsageException($"--worker {w}: the benchmark only targets loopback addresses (127.0.0.1, ::1, localhost).");
            workers.Add(url);
        }
        if (workers.Count > 2)
            throw new CliUsageException("--worker: give one or two workers (or none: the benchmark starts two).");
        var workload = (args.Get("workload") ?? "embed").ToLowerInvariant();
        if (!BenchWorkloads.Known.Contains(workload))
            throw new CliUsageException($"--workload: unknown workload '{workload}'; use one of {string.Join(", ", BenchWorkloads.Known)}.");
        var pairs = args.GetInt("pairs", 300);
        if (pairs is < 1 or > 100_000) throw new CliUsageException("--pairs must be from 1 to 100000.");
        var concurrency = args.GetInt("concurrency", 8);
        if (concurrency is < 1 or > 256) throw new CliUsageException("--concurrency must be from 1 to 256.");
        var requests = args.GetInt("requests", 3000);
        if (requests is < 1 or > 1_000_000) throw new CliUsageException("--requests must be from 1 to 1000000 (per throughput level).");
        var duration = args.GetDouble("duration", 20);
        if (!double.IsFinite(duration) || duration <= 0 || duration > 3600) throw new CliUsageException("--duration must be seconds per throughput level, above 0 and at most 3600.");
        var warmup = args.GetInt("warmup", 20);
        if (warmup is < 1 or > 10_000) throw new CliUsageException("--warmup must be from 1 to 10000 (per target).");
        var threads = args.GetInt("threads", 1);
        if (threads is < 0 or > 1024) throw new CliUsageException("--threads must be from 0 (all cores) to 1024.");
        if (workers.Count > 0 && args.Has("threads"))
            throw new CliUsageException("--threads applies to the workers the benchmark starts; leave it out with --worker.");
        return new Settings(workers, workload, pairs, concurrency, requests, TimeSpan.FromSeconds(duration), warmup, threads, args.Get("models"),
            BenchCommand.RequestTimeout(args, 60));
    }

    /// <summary>Pairs of the same request straight to the worker and through the gateway, one at a time, the order swapped every pair.</summary>
    private static async Task<GatewayOverhead> OverheadAsync(HttpClient direct, HttpClient gateway, BenchWorkload workload, int pairs, CancellationToken ct)
    {
        var straight = new List<double>(pairs);
        var through = new List<double>(pairs);
        var differences = new List<double>(pairs);
        var errors = 0;
        for (var i = 0; i < pairs; i++)
        {
            var gatewayFirst = i % 2 == 1;
            var first = await BenchCommand.SendAsync(gatewayFirst ? gateway : direct, workload, ct);
            var second = await BenchCommand.SendAsync(gatewayFirst ? direct : gateway, workload, ct);
            var (d, g) = gatewayFirst ? (second, first) : (first, second);
            if (!d.Ok || !g.Ok)
            {
                errors++;
                continue;
            }
            straight.Add(d.Ms);
            through.Add(g.Ms);
            differences.Add(g.Ms - d.Ms);
        }
        straight.Sort();
        through.Sort();
        differences.Sort();
        double? P(List<double> sorted, double q) => BenchCommand.Percentile(sorted, q) is { } v ? Math.Round(v, 3) : null;
        double? Minus(double? a, double? b) => a is { } x && b is { } y ? Math.Round(x - y, 3) : null;
        return new GatewayOverhead(pairs, errors,
            P(straight, 0.50), P(straight, 0.95), P(through, 0.50), P(through, 0.95),
            Minus(P(through, 0.50), P(straight, 0.50)), Minus(P(through, 0.95), P(straight, 0.95)), P(differences, 0.50));
    }

    /// <summary>Requests each worker has answered through this gateway so far.</summary>
    private static async Task<Dictionary<string, long>> ServedAsync(HttpClient http, Uri gateway, CancellationToken ct)
    {
        var workers = await http.GetFromJsonAsync<List<GatewayHost.WorkerStatus>>(new Uri(gateway, "v1/gateway/workers"), HubJson.Create(), ct) ?? [];
        return workers.ToDictionary(w => w.Url, w => w.Served, StringComparer.Ordinal);
    }

    private static IEnumerable<string> WorkerArgs(Uri url, IReadOnlyList<string> roots, int threads)
    {
        string[] args =
        [
            "serve", "--urls", Authority(url), $"--Inference:IntraOpThreads={threads}", "--Limits:RequestsPerMinute=0", "--Queues:MaxQueued=1024",
            "--Logging:LogLevel:Default=Warning",
        ];
        return args.Concat(roots.Select((r, i) => $"--Inference:ModelRoots:{i}={r}"));
    }

    /// <summary>The gateway as `./hub cli gateway` runs it (its default logging included), probing a little more often.</summary>
    private static IEnumerable<string> GatewayArgs(Uri url, IReadOnlyList<Uri> workers) =>
        new[] { "gateway", "--urls", Authority(url), "--Gateway:ProbeInterval", "00:00:00.500" }.Concat(workers.SelectMany(w => new[] { "--worker", Authority(w) }));

    private static string Authority(Uri url) => url.GetLeftPart(UriPartial.Authority);
}
