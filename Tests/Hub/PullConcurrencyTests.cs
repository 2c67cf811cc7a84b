using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Hosting;
using MultimodalHub.Inference.Hub;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Hub;

/// <summary>Two pulls of one repository share one download; variants add to a pulled model.</summary>
public sealed class PullConcurrencyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_pulls_of_one_repo_in_one_process_are_one_job()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Faults.BodyRule = (_, _, _) => new BodyFault(ChunkDelay: TimeSpan.FromMilliseconds(10));
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(bed.Settings);
        builder.Services.AddInferenceCore(builder.Configuration);
        using var host = builder.Build();
        var puller = host.Services.GetRequiredService<ModelPuller>();
        var spec = PullSpec.From(new ModelPullRequest("local/shapes-chat"));
        var first = puller.Start(spec);
        var second = puller.Start(spec);
        Assert.Same(first, second);
        var other = Assert.Throws<PullException>(() => { puller.Start(spec with { Variant = Inference.Runtime.OnnxVariant.Q4 }); });
        Assert.Equal(PullErrorKind.Conflict, other.Kind);
        var result = await first.Completion;
        Assert.Equal("shapes-chat", result.Model);
        Assert.Single(bed.Hub.Requests, r => r is { Route: HubRoute.Cdn, Path: "onnx/model.onnx" });
        Assert.Equal(PullStatus.Completed, first.Snapshot().Status);
    }

    [Fact]
    public async Task Two_processes_pulling_one_repo_download_it_once()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Faults.BodyRule = (_, _, _) => new BodyFault(ChunkDelay: TimeSpan.FromMilliseconds(10));
        // Two CLI hosts (as two processes would be): the second waits for the folder's lock, then finds every file there.
        var a = bed.CliAsync("models", "pull", "local/clip-shapes", "--quiet");
        var b = bed.CliAsync("models", "pull", "local/clip-shapes", "--quiet");
        var results = await Task.WhenAll(a, b);
        Assert.All(results, r => Assert.True(r.Code == 0, r.Stderr));
        Assert.Single(bed.Hub.Requests, r => r is { Route: HubRoute.Cdn, Path: "onnx/vision_model.onnx" });
        Assert.Contains(results, r => JsonDocument.Parse(r.Stdout).RootElement.GetProperty("already_present").GetBoolean());
    }

    [Fact]
    public async Task A_variant_pull_fetches_only_that_variant_and_a_second_variant_joins_the_folder()
    {
        var hubRoot = Directory.CreateTempSubdirectory("hub-variants-").FullName;
        try
        {
            // A repository with fp32 and fp16 files of every CLIP graph (the fp16 names hold copies: only the names matter here).
            var repo = Path.Combine(hubRoot, "clip-multi");
            foreach (var file in HubTestBed.FilesUnder(Repo.Model("clip-shapes")))
            {
                var to = Path.Combine(repo, file);
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(Repo.Model("clip-shapes", file), to);
                if (file.EndsWith(".onnx", StringComparison.Ordinal)) File.Copy(Repo.Model("clip-shapes", file), to[..^5] + "_fp16.onnx");
            }
            await using var bed = await HubTestBed.StartAsync(hubRoot);
            var fp16 = await bed.PullAsync("local/clip-multi", "--variant", "fp16");
            Assert.Equal("fp16", fp16.GetProperty("variant").GetString());
            var onnx = HubTestBed.FilesUnder(bed.Model("clip-multi")).Where(f => f.EndsWith(".onnx", StringComparison.Ordinal)).ToList();
            Assert.Equal(["onnx/model_fp16.onnx", "onnx/text_model_fp16.onnx", "onnx/vision_model_fp16.onnx"], onnx);

            await bed.PullAsync("local/clip-multi", "--variant", "fp32");
            var info = JsonDocument.Parse((await bed.CliAsync("models", "info", "clip-multi")).Stdout).RootElement;
            Assert.Equal(["fp32", "fp16"], info.GetProperty("variants").EnumerateArray().Select(v => v.GetString()));
            Assert.Equal(["fp16", "fp32"], info.GetProperty("source").GetProperty("variants").EnumerateArray().Select(v => v.GetString()));
            Assert.Equal("ready", info.GetProperty("status").GetString());
        }
        finally
        {
            Directory.Delete(hubRoot, recursive: true);
        }
    }
}
