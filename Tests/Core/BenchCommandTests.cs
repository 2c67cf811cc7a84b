using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Hosting;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Core;

/// <summary>
/// The `bench` CLI command run in-process as the CLI runs it (its own host, the real service on a loopback port, real
/// models): the JSON report has every figure, every request succeeds below the queue limit, percentiles are ordered.
/// No timing is asserted.
/// </summary>
public sealed class BenchCommandTests
{
    private static BenchCommand Command(IHost host) =>
        Assert.IsType<BenchCommand>(host.Services.GetServices<ICliCommand>().Single(c => c.Name == "bench"));

    private static IHost CliHost()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["Inference:ModelRoots:0"] = Repo.Models;
        builder.Services.AddInferenceCore(builder.Configuration);
        return builder.Build();
    }

    private static async Task<(int Code, JsonElement Report, string Table)> RunAsync(params string[] args)
    {
        using var host = CliHost();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await Command(host).RunAsync(new CliArgs(args), stdout, stderr, TestContext.Current.CancellationToken);
        using var doc = JsonDocument.Parse(stdout.ToString());
        return (code, doc.RootElement.Clone(), stderr.ToString());
    }

    [Fact]
    public async Task In_process_bench_reports_every_figure_for_classify_and_chat()
    {
        var (code, report, table) = await RunAsync("--requests", "6", "--concurrency", "1,2", "--workload", "classify,chat", "--warmup", "1", "--duration", "120");

        Assert.Equal(0, code);
        Assert.True(report.GetProperty("in_process").GetBoolean());
        Assert.StartsWith("http://127.0.0.1:", report.GetProperty("target").GetString());
        Assert.Equal(0, report.GetProperty("server_errors").GetInt32());
        Assert.Equal([1, 2], report.GetProperty("concurrency").EnumerateArray().Select(e => e.GetInt32()));
        var workloads = report.GetProperty("workloads").EnumerateArray().ToList();
        Assert.Equal(["classify", "chat"], workloads.Select(w => w.GetProperty("workload").GetString()));
        Assert.Equal(["/v1/classify", "/v1/chat/completions"], workloads.Select(w => w.GetProperty("route").GetString()));
        foreach (var w in workloads)
        {
            var name = w.GetProperty("workload").GetString();
            Assert.Single(w.GetProperty("warmup_ms").EnumerateArray());
            var levels = w.GetProperty("levels").EnumerateArray().ToList();
            Assert.Equal([1, 2], levels.Select(l => l.GetProperty("concurrency").GetInt32()));
            foreach (var l in levels)
            {
                // The queue limit (16) is above the concurrency: every request is answered 200.
                Assert.Equal(6, l.GetProperty("requests").GetInt32());
                Assert.Equal(6, l.GetProperty("ok").GetInt32());
                Assert.Equal(0, l.GetProperty("too_many_requests").GetInt32());
                Assert.Equal(0, l.GetProperty("errors").GetInt32());
                Assert.Equal(0, l.GetProperty("server_errors").GetInt32());
                Assert.Empty(l.GetProperty("error_samples").EnumerateArray());
                Assert.False(l.GetProperty("stopped_by_duration").GetBoolean());
                var p50 = l.GetProperty("p50_ms").GetDouble();
                var p95 = l.GetProperty("p95_ms").GetDouble();
                var p99 = l.GetProperty("p99_ms").GetDouble();
                Assert.True(p50 > 0 && p50 <= p95 && p95 <= p99, $"{name}: p50 {p50} p95 {p95} p99 {p99}");
                Assert.True(l.GetProperty("requests_per_second").GetDouble() > 0);
                Assert.True(l.GetProperty("elapsed_seconds").GetDouble() > 0);
                Assert.True(l.GetProperty("p50_ratio").GetDouble() > 0);
            }
            Assert.Equal(1.0, levels[0].GetProperty("p50_ratio").GetDouble());
            Assert.Equal(levels[0].GetProperty("p50_ms").GetDouble(), w.GetProperty("baseline_p50_ms").GetDouble());
            // The ratio is computed from unrounded p50s, the report shows them rounded to 0.1 ms: allow for that rounding.
            double p50c2 = levels[1].GetProperty("p50_ms").GetDouble(), p50c1 = levels[0].GetProperty("p50_ms").GetDouble();
            var ratio = levels[1].GetProperty("p50_ratio").GetDouble();
            Assert.InRange(ratio, (p50c2 - 0.05) / (p50c1 + 0.05) - 0.005, (p50c2 + 0.05) / Math.Max(p50c1 - 0.05, 1e-3) + 0.005);
        }
        // The human table on stderr: a header and one row per workload and level.
        Assert.Contains("p50 ms", table);
        Assert.Equal(4, table.Split('\n').Count(line => line.StartsWith("classify ", StringComparison.Ordinal) || line.StartsWith("chat ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Bench_against_a_running_service_by_url_and_the_baseline_level_always_runs()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = InferenceHost.Build(["--urls", "http://127.0.0.1:0", $"--Inference:ModelRoots:0={Repo.Models}",
            "--Inference:IntraOpThreads=2", "--Logging:LogLevel:Default=Warning", "--Logging:Console:LogToStandardErrorThreshold=Trace"]);
        await service.StartAsync(ct);
        try
        {
            var url = service.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var (code, report, _) = await RunAsync("--url", url, "--requests", "3", "--concurrency", "2", "--workload", "classify", "--warmup", "1");

            Assert.Equal(0, code);
            Assert.False(report.GetProperty("in_process").GetBoolean());
            Assert.Equal(url.TrimEnd('/'), report.GetProperty("target").GetString());
            var levels = report.GetProperty("workloads")[0].GetProperty("levels").EnumerateArray().ToList();
            Assert.Equal([1, 2], levels.Select(l => l.GetProperty("concurrency").GetInt32()));
            Assert.All(levels, l => Assert.Equal(3, l.GetProperty("ok").GetInt32()));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Theory]
    [InlineData("--url", "http://10.1.2.3:5081", "loopback")]
    [InlineData("--url", "ftp://127.0.0.1", "http(s) URL")]
    [InlineData("--workload", "classify,dance", "unknown workload 'dance'")]
    [InlineData("--concurrency", "1,0", "'0'")]
    [InlineData("--requests", "0", "--requests")]
    [InlineData("--duration", "NaN", "--duration")]
    public async Task Bad_options_are_usage_errors_naming_the_option(string option, string value, string expected)
    {
        using var host = CliHost();
        var e = await Assert.ThrowsAsync<CliUsageException>(() =>
            Command(host).RunAsync(new CliArgs([option, value]), TextWriter.Null, TextWriter.Null, TestContext.Current.CancellationToken));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Percentiles_interpolate_between_closest_ranks_like_numpy()
    {
        double[] sorted = [10, 20, 30, 40];
        Assert.Equal(25, BenchCommand.Percentile(sorted, 0.50)!.Value, 6);
        Assert.Equal(38.5, BenchCommand.Percentile(sorted, 0.95)!.Value, 6);
        Assert.Equal(39.7, BenchCommand.Percentile(sorted, 0.99)!.Value, 6);
        Assert.Equal(7.0, BenchCommand.Percentile([7.0], 0.99)!.Value);
        Assert.Null(BenchCommand.Percentile([], 0.5));
    }
}
