using System.Diagnostics;
using System.Text.Json;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Core;

/// <summary>`bench cold` of the real binary: fresh `serve` processes on the bundled chat model, with the warm-up run off and on.</summary>
public sealed class ColdBenchTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bench_cold_starts_fresh_services_and_reports_start_load_warm_up_and_the_first_two_requests()
    {
        var (exit, stdout, stderr) = await RunAsync("--workload", "chat", "--runs", "1", "--models", Repo.Models);
        Assert.True(exit == 0, stderr);
        var report = JsonDocument.Parse(stdout).RootElement;
        Assert.Empty(report.GetProperty("errors").EnumerateArray());
        var results = report.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([false, true], results.Select(r => r.GetProperty("warm_up").GetBoolean()));
        foreach (var r in results)
        {
            Assert.Equal(("chat", "shapes-chat", 1), (r.GetProperty("workload").GetString(), r.GetProperty("model").GetString(), r.GetProperty("runs").GetInt32()));
            var run = Assert.Single(r.GetProperty("each").EnumerateArray());
            foreach (var name in new[] { "start_ms", "load_ms", "server_load_ms", "first_request_ms", "second_request_ms" })
                Assert.True(run.GetProperty(name).GetDouble() > 0, name);
            // The client's time for the load request holds the service's own load time.
            Assert.True(run.GetProperty("load_ms").GetDouble() >= run.GetProperty("server_load_ms").GetDouble());
            Assert.Equal(run.GetProperty("first_request_ms").GetDouble(), r.GetProperty("first_request_ms").GetDouble()); // the median of one run
            // The service's warm-up time only when the warm-up ran (no value is left out of the JSON).
            var warmedUp = run.TryGetProperty("warm_up_ms", out var warmUp) && warmUp.ValueKind == JsonValueKind.Number;
            Assert.Equal(r.GetProperty("warm_up").GetBoolean(), warmedUp);
            if (warmedUp) Assert.True(warmUp.GetDouble() > 0);
        }
        Assert.Contains("shapes-chat", stderr); // the table
    }

    [Fact]
    public async Task An_unknown_workload_is_a_usage_error_naming_the_option()
    {
        var (exit, _, stderr) = await RunAsync("--workload", "chat,nope");
        Assert.Equal(2, exit);
        Assert.Contains("--workload: unknown workload 'nope'", stderr);
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var a in new[] { HubBinaries.Inference, "bench", "cold" }.Concat(args)) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return (process.ExitCode, await stdout, await stderr);
    }
}
