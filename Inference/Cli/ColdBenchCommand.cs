using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Cli;

/// <summary>
/// `bench cold [--workload classify,chat,caption,imagine] [--runs 3] [--threads N] [--models DIR] [--timeout 300]`:
/// cold-start costs, each measured in a fresh process. For each workload's model, with Inference:WarmUp off and on,
/// --runs times (interleaved, so a shared machine's changing load falls on both settings alike): start a new `serve`
/// on a free loopback port (start: until /readyz answers), load the model (POST /v1/models/{id}/load: its sessions and,
/// when on, the warm-up run; the service's own load_ms and warm_up_ms are kept too), send the workload's request (the
/// first request) and the same request again (a warm one), stop the process. Prints medians as JSON and a table on
/// stderr; exit code 1 when any step failed.
/// </summary>
public sealed class ColdBenchCommand(ModelRegistry registry) : ICliCommand
{
    private static readonly TimeSpan StartWithin = TimeSpan.FromMinutes(3);
    private static readonly bool[] WarmUpSettings = [false, true];

    /// <summary>The bundled model each workload's request goes to (its kind's only model in models/).</summary>
    private static readonly Dictionary<string, string> ModelOf = new(StringComparer.Ordinal)
    {
        ["classify"] = "clip-shapes",
        ["embed"] = "clip-shapes",
        ["chat"] = "shapes-chat",
        ["caption"] = "shapes-vlm",
        ["imagine"] = "sd-shapes",
    };

    public string Name => "bench cold";

    public string Summary => "cold start in fresh processes: start, model load with and without warm-up, first vs second request: bench cold [--workload chat] [--runs 3]";

    public Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct) => RunAsync(args, stdout, Console.Error, ct);

    private sealed record Settings(IReadOnlyList<string> Workloads, int Runs, int Threads, string? Models, TimeSpan Timeout);

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        args.EnsureOnly("workload", "runs", "threads", "models", "timeout");
        var settings = Parse(args);
        var roots = settings.Models is { } m ? [Path.GetFullPath(m)] : registry.Roots;
        var workloads = settings.Workloads.Select(w => BenchWorkloads.Create(w, roots)).ToList();
        var loadBefore = BenchEnvironment.LoadAverage();

        var runs = workloads.SelectMany(w => WarmUpSettings.Select(warm => (Workload: w, WarmUp: warm)))
            .ToDictionary(k => k, _ => new List<ColdRun>());
        var errors = new List<string>();
        for (var run = 0; run < settings.Runs; run++)
            foreach (var key in runs.Keys)
            {
                try
                {
                    var result = await RunOnceAsync(key.Workload, ModelOf[key.Workload.Name], key.WarmUp, roots, settings, ct);
                    runs[key].Add(result);
                    stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"bench cold: {key.Workload.Name} warm-up {(key.WarmUp ? "on " : "off")} run {run + 1}: start {result.StartMs:0} ms, load {result.LoadMs:0} ms, first {result.FirstRequestMs:0.0} ms, second {result.SecondRequestMs:0.0} ms"));
                }
                catch (InvalidOperationException e)
                {
                    errors.Add($"{key.Workload.Name} (warm-up {(key.WarmUp ? "on" : "off")}): {e.Message}");
                    stderr.WriteLine($"bench cold: {errors[^1]}");
                }
            }

        var report = new ColdBenchReport(
            new BenchMachine(Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription),
            loadBefore, BenchEnvironment.LoadAverage(), settings.Runs, settings.Threads,
            runs.Select(r => Summarise(r.Key.Workload, ModelOf[r.Key.Workload.Name], r.Key.WarmUp, r.Value)).ToList(), errors);
        CliApp.WriteJson(stdout, report);
        WriteTable(stderr, report);
        return errors.Count > 0 ? 1 : 0;
    }

    private static Settings Parse(CliArgs args)
    {
        var workloads = (args.Get("workload") ?? "classify,chat,caption,imagine")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(w => w.ToLowerInvariant()).Distinct().ToList();
        if (workloads.Count == 0) throw new CliUsageException("--workload needs at least one of " + string.Join(", ", ModelOf.Keys) + ".");
        foreach (var w in workloads)
            if (!ModelOf.ContainsKey(w)) throw new CliUsageException($"--workload: unknown workload '{w}'; use {string.Join(", ", ModelOf.Keys)}.");
        var runs = args.GetInt("runs", 3);
        if (runs is < 1 or > 50) throw new CliUsageException("--runs must be from 1 to 50 (fresh processes per workload and warm-up setting).");
        var threads = args.GetInt("threads", 1);
        if (threads is < 0 or > 1024) throw new CliUsageException("--threads must be from 0 (one per core) to 1024 (ONNX Runtime threads of each started service).");
        return new Settings(workloads, runs, threads, args.Get("models"), BenchCommand.RequestTimeout(args, 300));
    }

    /// <summary>One fresh process: start, load, first and second request.</summary>
    private static async Task<ColdRun> RunOnceAsync(BenchWorkload workload, string model, bool warmUp, IReadOnlyList<string> roots, Settings settings,
        CancellationToken ct)
    {
        var url = BenchEnvironment.FreeLoopbackUrl();
        using var http = new HttpClient { BaseAddress = url, Timeout = settings.Timeout };
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        using var process = new ChildProcess($"serve {url.Authority}", ServeArgs(url, roots, settings.Threads, warmUp));
        await process.WaitUntilAsync(probe, new Uri(url, "readyz"), r => Task.FromResult(r.IsSuccessStatusCode), StartWithin, ct);
        var startMs = clock.Elapsed.TotalMilliseconds;

        var loadStart = Stopwatch.GetTimestamp();
        using var loaded = await http.PostAsync($"v1/models/{model}/load", null, ct);
        var loadBody = await loaded.Content.ReadAsStringAsync(ct);
        var loadMs = Stopwatch.GetElapsedTime(loadStart).TotalMilliseconds;
        if (!loaded.IsSuccessStatusCode)
            throw new InvalidOperationException($"loading {model} answered HTTP {(int)loaded.StatusCode}: {loadBody[..Math.Min(loadBody.Length, 300)]}");
        var info = JsonSerializer.Deserialize<ModelInfo>(loadBody, HubJson.Create())?.Load
            ?? throw new InvalidOperationException($"loading {model} answered no load information");

        var first = await BenchCommand.SendAsync(http, workload, ct);
        var second = await BenchCommand.SendAsync(http, workload, ct);
        foreach (var s in new[] { first, second })
            if (!s.Ok) throw new InvalidOperationException($"{workload.Name} request failed: {BenchCommand.Describe(s)}");
        // Models the first request loaded besides this one (an image generation's CLIP safety check): their load is in its time.
        var models = await http.GetFromJsonAsync<ModelList>("v1/models", HubJson.Create(), ct);
        var others = models?.Data.Where(d => d.Loaded && d.Id != model).Select(d => d.Id).Order(StringComparer.Ordinal).ToList() ?? [];
        return new ColdRun(Math.Round(startMs, 1), Math.Round(loadMs, 1), Math.Round(info.LoadMs, 1), info.WarmUpMs is { } w ? Math.Round(w, 1) : null,
            Math.Round(first.Ms, 1), Math.Round(second.Ms, 1), others);
    }

    private static IEnumerable<string> ServeArgs(Uri url, IReadOnlyList<string> roots, int threads, bool warmUp)
    {
        string[] args =
        [
            "serve", "--urls", url.GetLeftPart(UriPartial.Authority), $"--Inference:IntraOpThreads={threads}", $"--Inference:WarmUp={(warmUp ? "true" : "false")}",
            "--Limits:RequestsPerMinute=0", "--Logging:LogLevel:Default=Warning",
        ];
        return args.Concat(roots.Select((r, i) => $"--Inference:ModelRoots:{i}={r}"));
    }

    private static ColdBenchResult Summarise(BenchWorkload workload, string model, bool warmUp, List<ColdRun> runs) => new(
        workload.Name, model, warmUp, runs.Count,
        Median(runs.Select(r => r.StartMs)), Median(runs.Select(r => r.LoadMs)), Median(runs.Select(r => r.ServerLoadMs)),
        Median(runs.Where(r => r.WarmUpMs is not null).Select(r => r.WarmUpMs!.Value)),
        Median(runs.Select(r => r.FirstRequestMs)), Median(runs.Select(r => r.SecondRequestMs)),
        runs.SelectMany(r => r.AlsoLoaded).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(), runs);

    private static double? Median(IEnumerable<double> values) => BenchCommand.Round(BenchCommand.Percentile(values.Order().ToList(), 0.5));

    private static void WriteTable(TextWriter stderr, ColdBenchReport report)
    {
        stderr.WriteLine();
        stderr.WriteLine($"bench cold: medians of {report.Runs} fresh process(es) each, {report.OrtThreads} ONNX Runtime thread(s), load average {Format(report.LoadAverageBefore)} -> {Format(report.LoadAverageAfter)}");
        stderr.WriteLine($"{"workload",-9} {"model",-12} {"warm-up",-7} {"start ms",9} {"load ms",9} {"(warm-up)",9} {"first ms",9} {"second ms",9}");
        foreach (var r in report.Results)
        {
            var also = r.AlsoLoaded.Count > 0 ? $"  (first request also loaded {string.Join(", ", r.AlsoLoaded)})" : "";
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Workload,-9} {r.Model,-12} {(r.WarmUp ? "on" : "off"),-7} {r.StartMs,9:0} {r.LoadMs,9:0} {r.WarmUpMs,9:0} {r.FirstRequestMs,9:0.0} {r.SecondRequestMs,9:0.0}{also}"));
        }

        static string Format(IReadOnlyList<double>? load) => load is null ? "unknown" : string.Join(' ', load.Select(v => v.ToString("0.00", CultureInfo.InvariantCulture)));
    }
}

/// <summary>`bench cold`'s JSON: the machine, load averages before and after, and per workload and warm-up setting the medians and each run.</summary>
public sealed record ColdBenchReport(BenchMachine Machine, IReadOnlyList<double>? LoadAverageBefore, IReadOnlyList<double>? LoadAverageAfter, int Runs,
    int OrtThreads, IReadOnlyList<ColdBenchResult> Results, IReadOnlyList<string> Errors);

/// <summary>
/// Medians over the runs (ms): process start until /readyz, the load request (server's own load_ms and warm_up_ms), first
/// and second request; the models the first request loaded besides <see cref="Model"/> (their load is in its time).
/// </summary>
public sealed record ColdBenchResult(string Workload, string Model, bool WarmUp, int Runs, double? StartMs, double? LoadMs, double? ServerLoadMs,
    double? WarmUpMs, double? FirstRequestMs, double? SecondRequestMs, IReadOnlyList<string> AlsoLoaded, IReadOnlyList<ColdRun> Each);

/// <summary>One fresh process's figures (ms) and the models its first request loaded besides the measured one.</summary>
public sealed record ColdRun(double StartMs, double LoadMs, double ServerLoadMs, double? WarmUpMs, double FirstRequestMs, double SecondRequestMs,
    IReadOnlyList<string> AlsoLoaded);
