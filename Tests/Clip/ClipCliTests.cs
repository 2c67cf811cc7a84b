using System.Diagnostics;
using System.Text.Json;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Clip;

/// <summary>The real binary's `classify` command on the bundled model.</summary>
public sealed class ClipCliTests
{
    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var dll = HubBinaries.Inference;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["Inference__ModelRoots__0"] = Repo.Models;
        start.Environment["Inference__IntraOpThreads"] = "2";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string Golden(int i) => Repo.Model("clip-shapes", "goldens", $"image{i}.png");

    [Fact]
    public async Task Classify_prints_labels_sorted_by_score_for_one_image()
    {
        var (code, stdout, stderr) = await RunAsync("classify", "--image", Golden(0), "--labels", "blue square,red circle,yellow star");
        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("clip-shapes", json.GetProperty("model").GetString());
        var labels = json.GetProperty("labels").EnumerateArray().ToList();
        Assert.Equal("red circle", labels[0].GetProperty("label").GetString());
        Assert.Equal(3, labels.Count);
        var scores = labels.Select(l => l.GetProperty("score").GetSingle()).ToList();
        Assert.Equal(scores.OrderByDescending(s => s), scores);
        Assert.Equal(1.0, scores.Sum(), 3);
    }

    [Fact]
    public async Task Several_images_give_an_array_and_a_missing_file_is_an_error()
    {
        var (code, stdout, stderr) = await RunAsync("classify", "--image", Golden(0), "--image", Golden(1),
            "--labels", "red circle,yellow star", "--template", "a photo of a {}.", "--model", "clip-shapes");
        Assert.True(code == 0, stderr);
        var results = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        Assert.Equal("red circle", results[0].GetProperty("labels")[0].GetProperty("label").GetString());
        Assert.Equal("yellow star", results[1].GetProperty("labels")[0].GetProperty("label").GetString());

        var missing = await RunAsync("classify", "--image", "/no/such/file.png", "--labels", "red circle");
        Assert.Equal(2, missing.Code);
        Assert.Contains("file not found", missing.Stderr);
    }
}
