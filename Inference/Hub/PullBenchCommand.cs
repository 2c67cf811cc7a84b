using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hub;

/// <summary>One timed download.</summary>
public sealed record PullBenchRun(double Seconds, double MegabytesPerSecond);

/// <summary>`bench pull` output: curl and the hub client fetching the same file from the loopback hub, and their ratio.</summary>
/// <param name="Ratio">Median pull throughput over median curl throughput (1.0: as fast as curl).</param>
public sealed record PullBenchReport(long FileBytes, int Runs, IReadOnlyList<PullBenchRun> Curl, IReadOnlyList<PullBenchRun> Pull,
    double CurlMedianMegabytesPerSecond, double PullMedianMegabytesPerSecond, double Ratio, string Note);

/// <summary>
/// `bench pull [--size-mb 200] [--runs 3] [--dir DIR]`: pull throughput against curl. Writes a chat-layout repository whose
/// onnx/model.onnx is --size-mb of random bytes, serves it with the loopback hub (<see cref="LocalHubServer"/>: the file
/// goes through the hub's 302 to its CDN route), then, per run, times `curl -sSL -o FILE URL` of that file and a whole
/// `models pull` of the repository (repository info, configs, the graph with its sha256 check, the move into place)
/// into a fresh models root. Prints the report as JSON and a line on stderr. curl must be on PATH.
/// </summary>
public sealed class PullBenchCommand(ModelRegistry registry, LoadedModels loaded, ILoggerFactory logs) : ICliCommand
{
    public string Name => "bench pull";

    public string Summary => "pull throughput from the loopback hub vs curl on the same file: bench pull [--size-mb 200] [--runs 3]";

    public async Task<int> RunAsync(CliArgs args, TextWriter stdout, CancellationToken ct)
    {
        args.EnsureOnly("size-mb", "runs", "dir");
        var sizeMb = args.GetInt("size-mb", 200);
        var runs = args.GetInt("runs", 3);
        if (sizeMb is < 1 or > 100_000) throw new CliUsageException("--size-mb must be between 1 and 100000.");
        if (runs is < 1 or > 50) throw new CliUsageException("--runs must be between 1 and 50.");
        var work = Path.Combine(Path.GetFullPath(args.Get("dir") ?? Path.GetTempPath()), "hub-pull-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            var hubRoot = Path.Combine(work, "hub");
            var size = WriteRepository(Path.Combine(hubRoot, "bench-model"), (long)sizeMb << 20);
            await using var server = await LocalHubServer.StartAsync(new LocalHubOptions(hubRoot), null, ct);
            var settings = new HubSettings(Options.Create(new HubOptions { Endpoint = server.Endpoint.ToString(), Token = "" }), new ConfigurationBuilder().Build());
            using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None })
            {
                Timeout = Timeout.InfiniteTimeSpan,
            };
            using var puller = new ModelPuller(new HubClient(http, settings, logs.CreateLogger<HubClient>()), registry, loaded,
                Options.Create(new HubOptions()), logs.CreateLogger<ModelPuller>());
            var spec = PullSpec.From(new ModelPullRequest("local/bench-model"));
            var url = new Uri(server.Endpoint, "local/bench-model/resolve/main/onnx/model.onnx");
            await puller.PreviewAsync(spec, Path.Combine(work, "warmup"), ct); // the hub hashes the file once, before any timing

            var curl = new List<PullBenchRun>();
            var pull = new List<PullBenchRun>();
            for (var i = 0; i < runs; i++)
            {
                var target = Path.Combine(work, $"curl-{i}.bin");
                var seconds = await CurlAsync(url, target, ct);
                if (new FileInfo(target).Length != size) throw new InvalidOperationException($"curl fetched {new FileInfo(target).Length} bytes, not {size}.");
                File.Delete(target);
                curl.Add(Run(size, seconds));

                var root = Path.Combine(work, $"pull-{i}");
                var clock = Stopwatch.StartNew();
                await puller.PullAsync(spec, root, ct);
                pull.Add(Run(size, clock.Elapsed.TotalSeconds));
                Directory.Delete(root, recursive: true);
            }
            var curlMedian = Median(curl);
            var pullMedian = Median(pull);
            var report = new PullBenchReport(size, runs, curl, pull, curlMedian, pullMedian, Math.Round(pullMedian / curlMedian, 3),
                "pull = the whole `models pull` (repository info, configs, the graph through the 302 with its sha256 check, the move into place); curl = the graph alone, no check");
            CliApp.WriteJson(stdout, report);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bench pull: {size >> 20} MiB, {runs} runs: curl {curlMedian:0} MB/s, pull {pullMedian:0} MB/s, ratio {report.Ratio:0.00}"));
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>A chat-layout repository: configs and an onnx/model.onnx of random bytes (after an ONNX-like first two bytes).</summary>
    private static long WriteRepository(string dir, long size)
    {
        Directory.CreateDirectory(Path.Combine(dir, "onnx"));
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "qwen2"}""", Encoding.UTF8);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{}", Encoding.UTF8);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{}", Encoding.UTF8);
        using var file = new FileStream(Path.Combine(dir, "onnx", "model.onnx"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var random = new Random(17);
        var buffer = new byte[1 << 20];
        for (long written = 0; written < size; written += buffer.Length)
        {
            random.NextBytes(buffer);
            if (written == 0) { buffer[0] = 0x08; buffer[1] = 0x07; }
            file.Write(buffer, 0, (int)Math.Min(buffer.Length, size - written));
        }
        return size;
    }

    private static async Task<double> CurlAsync(Uri url, string target, CancellationToken ct)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-sSL", "-o", target, url.ToString() }) start.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("curl could not be started.");
        var err = await process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var seconds = clock.Elapsed.TotalSeconds;
        if (process.ExitCode != 0) throw new InvalidOperationException($"curl failed ({process.ExitCode}): {err}");
        return seconds;
    }

    private static PullBenchRun Run(long bytes, double seconds) => new(Math.Round(seconds, 4), Math.Round(bytes / 1e6 / seconds, 1));

    private static double Median(List<PullBenchRun> runs)
    {
        var sorted = runs.Select(r => r.MegabytesPerSecond).Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
