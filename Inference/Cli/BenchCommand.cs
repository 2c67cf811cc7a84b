using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using MultimodalHub.Inference.Hosting;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Cli;

/// <summary>
/// `bench [--url http://127.0.0.1:5081] [--workload classify,chat] [--concurrency 1,2,4,8] [--requests 40]
/// [--duration 120] [--warmup 2] [--timeout 300] [--models DIR] [--threads N]`: a closed-loop load benchmark over
/// HTTP. For each workload, warm-up requests first (model load excluded from the figures), then for each
/// concurrency level N requests sent by that many workers; prints requests/s, p50/p95/p99 and p50 relative to the
/// single-request p50 as JSON on stdout, and a table on stderr. Without --url it starts the service itself on a
/// free loopback port (rate limiter off) and stops it at the end. Exit code 1 when any 5xx (or a failed warm-up) happened.
/// </summary>
public sealed class BenchCommand(ModelRegistry registry) : ICliCommand
{
    public string Name => "bench";

    public string Summary => "load benchmark: requests/s and p50/p95/p99 per concurrency level: bench [--url URL] [--workload classify,chat] [--concurrency 1,2,4,8]";

    public Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct) => RunAsync(args, stdout, Console.Error, ct);

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        args.EnsureOnly("url", "workload", "concurrency", "requests", "duration", "warmup", "timeout", "models", "threads");
        var settings = Parse(args);
        var roots = settings.Models is { } m ? [Path.GetFullPath(m)] : registry.Roots;
        var workloads = settings.Workloads.Select(w => BenchWorkloads.Create(w, roots)).ToList();

        WebApplication? service = null;
        try
        {
            Uri target;
            if (settings.Url is { } url) target = url;
            else
            {
                service = await StartServiceAsync(roots, settings.Threads, ct);
                target = new Uri(service.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
                stderr.WriteLine($"bench: in-process service on {target} (models: {string.Join(", ", roots)})");
            }

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
            {
                BaseAddress = target,
                Timeout = settings.Timeout,
            };
            var results = new List<WorkloadRun>();
            foreach (var workload in workloads)
                results.Add(await RunWorkloadAsync(http, workload, settings, stderr, ct));

            var serverErrors = results.Sum(r => r.Result.Levels.Sum(l => l.ServerErrors) + r.WarmupServerErrors);
            var report = new BenchReport(
                target.ToString().TrimEnd('/'), service is not null,
                new BenchMachine(Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription),
                settings.Requests, settings.Duration.TotalSeconds, settings.Warmup, settings.Concurrency,
                results.Select(r => r.Result).ToList(), serverErrors);
            CliApp.WriteJson(stdout, report);
            WriteTable(stderr, report);
            var failedWarmup = results.Any(r => r.Result.Error is not null);
            return serverErrors > 0 || failedWarmup ? 1 : 0;
        }
        finally
        {
            if (service is not null)
            {
                await service.StopAsync(CancellationToken.None);
                await service.DisposeAsync();
            }
        }
    }

    /// <summary>The benchmark's settings after validation.</summary>
    private sealed record BenchSettings(
        Uri? Url, IReadOnlyList<string> Workloads, IReadOnlyList<int> Concurrency, int Requests, TimeSpan Duration,
        int Warmup, TimeSpan Timeout, string? Models, int? Threads);

    private static BenchSettings Parse(CliArgs args)
    {
        Uri? url = null;
        if (args.Get("url") is { } u)
        {
            if (!Uri.TryCreate(u, UriKind.Absolute, out url) || url.Scheme is not ("http" or "https"))
                throw new CliUsageException($"--url must be an http(s) URL such as http://127.0.0.1:5081, not '{u}'.");
            if (!url.IsLoopback)
                throw new CliUsageException($"--url {u}: the benchmark only targets loopback addresses (127.0.0.1, ::1, localhost).");
        }
        var workloads = Split(args.Get("workload") ?? "classify,chat").Select(w => w.ToLowerInvariant()).Distinct().ToList();
        if (workloads.Count == 0) throw new CliUsageException("--workload needs at least one of " + string.Join(", ", BenchWorkloads.Known) + ".");
        foreach (var w in workloads)
            if (!BenchWorkloads.Known.Contains(w))
                throw new CliUsageException($"--workload: unknown workload '{w}'; use {string.Join(", ", BenchWorkloads.Known)}.");

        var levels = new List<int>();
        foreach (var c in Split(args.Get("concurrency") ?? "1,2,4,8"))
        {
            if (!int.TryParse(c, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 256)
                throw new CliUsageException($"--concurrency: '{c}' is not a whole number from 1 to 256.");
            levels.Add(n);
        }
        // Concurrency 1 is the baseline every ratio refers to, so it always runs.
        levels = levels.Append(1).Distinct().Order().ToList();

        var requests = args.GetInt("requests", 40);
        if (requests is < 1 or > 100_000) throw new CliUsageException("--requests must be from 1 to 100000 (per workload and level).");
        var duration = args.GetDouble("duration", 120);
        if (!double.IsFinite(duration) || duration <= 0 || duration > 86_400) throw new CliUsageException("--duration must be seconds per level, above 0 and at most 86400.");
        var warmup = args.GetInt("warmup", 2);
        if (warmup is < 0 or > 100) throw new CliUsageException("--warmup must be from 0 to 100.");
        var timeout = RequestTimeout(args, 300);
        int? threads = args.Has("threads") ? args.GetInt("threads", 0) : null;
        if (threads is < 0 or > 1024) throw new CliUsageException("--threads must be from 0 (physical cores) to 1024.");
        if (url is not null && (args.Has("threads")))
            throw new CliUsageException("--threads applies to the in-process service only; leave it out with --url.");
        return new BenchSettings(url, workloads, levels, requests, TimeSpan.FromSeconds(duration), warmup, timeout,
            args.Get("models"), threads);
    }

    private static string[] Split(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The real service (same host as `serve`) on a free loopback port, with the client rate limiter off and its logs on stderr.</summary>
    private static async Task<WebApplication> StartServiceAsync(IReadOnlyList<string> roots, int? threads, CancellationToken ct)
    {
        var args = new List<string>
        {
            "--urls", "http://127.0.0.1:0",
            "--Limits:RequestsPerMinute=0",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:Console:LogToStandardErrorThreshold=Trace",
        };
        for (var i = 0; i < roots.Count; i++) args.Add($"--Inference:ModelRoots:{i}={roots[i]}");
        if (threads is { } t) args.Add($"--Inference:IntraOpThreads={t}");
        var app = InferenceHost.Build([.. args]);
        try
        {
            await app.StartAsync(ct);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    private sealed record WorkloadRun(BenchWorkloadResult Result, int WarmupServerErrors);

    internal sealed record Sample(int Status, double Ms, string? Error)
    {
        public bool Ok => Status is >= 200 and < 300;
    }

    private static async Task<WorkloadRun> RunWorkloadAsync(HttpClient http, BenchWorkload workload, BenchSettings settings, TextWriter stderr, CancellationToken ct)
    {
        var warmup = new List<Sample>();
        for (var i = 0; i < settings.Warmup; i++) warmup.Add(await SendAsync(http, workload, ct));
        var warmupMs = warmup.Select(s => Math.Round(s.Ms, 1)).ToList();
        var warmupServerErrors = warmup.Count(s => s.Status >= 500);
        if (warmup.Count > 0 && !warmup[^1].Ok)
        {
            var error = $"warm-up request failed: {Describe(warmup[^1])}";
            stderr.WriteLine($"bench: {workload.Name}: {error}; skipping its levels");
            return new WorkloadRun(new BenchWorkloadResult(workload.Name, workload.Route, warmupMs, null, [], error), warmupServerErrors);
        }

        var levels = new List<BenchLevelResult>();
        double? baseline = null;
        foreach (var concurrency in settings.Concurrency)
        {
            var level = await RunLevelAsync(http, workload, concurrency, settings.Requests, settings.Duration, baseline, ct);
            if (concurrency == 1) baseline = level.P50Ms;
            levels.Add(level);
        }
        return new WorkloadRun(new BenchWorkloadResult(workload.Name, workload.Route, warmupMs, baseline, levels, null), warmupServerErrors);
    }

    /// <summary>Closed loop: <paramref name="concurrency"/> workers each send the next request when their last one answered, until N are sent or the duration cap passes.</summary>
    internal static async Task<BenchLevelResult> RunLevelAsync(
        HttpClient http, BenchWorkload workload, int concurrency, int requests, TimeSpan cap, double? baseline, CancellationToken ct)
    {
        var samples = new ConcurrentQueue<Sample>();
        var issued = 0;
        var stoppedByDuration = false;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (true)
            {
                if (clock.Elapsed >= cap) { stoppedByDuration = true; return; }
                if (Interlocked.Increment(ref issued) > requests) return;
                samples.Enqueue(await SendAsync(http, workload, ct));
            }
        });
        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed.TotalSeconds;

        var all = samples.ToList();
        var ok = all.Where(s => s.Ok).Select(s => s.Ms).Order().ToList();
        var p50 = Percentile(ok, 0.50);
        return new BenchLevelResult(
            concurrency,
            all.Count,
            ok.Count,
            all.Count(s => s.Status == 429),
            all.Count(s => !s.Ok && s.Status != 429),
            all.Count(s => s.Status >= 500),
            stoppedByDuration && all.Count < requests,
            Math.Round(elapsed, 3),
            Math.Round(ok.Count / Math.Max(elapsed, 1e-9), 2),
            ok.Count > 0 ? Math.Round(ok.Average(), 1) : null,
            Round(p50), Round(Percentile(ok, 0.95)), Round(Percentile(ok, 0.99)),
            concurrency == 1 ? (p50 is null ? null : 1.0) : baseline is > 0 && p50 is { } p ? Math.Round(p / baseline.Value, 2) : null,
            all.Where(s => !s.Ok).Select(Describe).Distinct().Take(3).ToList());
    }

    internal static async Task<Sample> SendAsync(HttpClient http, BenchWorkload workload, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            using var content = new ByteArrayContent(workload.Body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync(workload.Route, content, ct);
            // The whole answer counts: latency is until the last byte of the body.
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            return new Sample((int)response.StatusCode, ms,
                response.IsSuccessStatusCode ? null : Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 300)));
        }
        catch (HttpRequestException e)
        {
            return new Sample(0, Stopwatch.GetElapsedTime(start).TotalMilliseconds, e.Message);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Sample(0, Stopwatch.GetElapsedTime(start).TotalMilliseconds, $"no answer within --timeout {http.Timeout.TotalSeconds:0} s");
        }
    }

    /// <summary>--timeout: seconds per request (above 0, at most an hour); <paramref name="fallbackSeconds"/> when not given.</summary>
    internal static TimeSpan RequestTimeout(CliArgs args, double fallbackSeconds)
    {
        var timeout = args.GetDouble("timeout", fallbackSeconds);
        if (!double.IsFinite(timeout) || timeout <= 0 || timeout > 3600) throw new CliUsageException("--timeout must be seconds per request, above 0 and at most 3600.");
        return TimeSpan.FromSeconds(timeout);
    }

    internal static string Describe(Sample s) => s.Status == 0 ? s.Error ?? "failed" : $"HTTP {s.Status}: {s.Error}";

    /// <summary>Linear interpolation between closest ranks (numpy's default); <paramref name="sorted"/> ascending.</summary>
    internal static double? Percentile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) return null;
        var rank = q * (sorted.Count - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    internal static double? Round(double? v) => v is { } x ? Math.Round(x, 1) : null;

    private static void WriteTable(TextWriter stderr, BenchReport report)
    {
        stderr.WriteLine($"bench: {report.Target}{(report.InProcess ? " (in-process)" : "")}, {report.Machine.ProcessorCount} logical cores, {report.RequestsPerLevel} requests per level");
        stderr.WriteLine($"{"workload",-9} {"conc",4} {"req",5} {"ok",5} {"429",4} {"err",4} {"req/s",7} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8} {"p50/c1",6}");
        foreach (var w in report.Workloads)
        {
            if (w.Error is not null) { stderr.WriteLine($"{w.Workload,-9} {w.Error}"); continue; }
            foreach (var l in w.Levels)
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{w.Workload,-9} {l.Concurrency,4} {l.Requests,5} {l.Ok,5} {l.TooManyRequests,4} {l.Errors,4} {l.RequestsPerSecond,7:0.00} {l.P50Ms,8:0.0} {l.P95Ms,8:0.0} {l.P99Ms,8:0.0} {l.P50Ratio,6:0.00}"));
        }
    }
}
