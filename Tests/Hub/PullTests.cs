using System.Text.Json;
using MultimodalHub.Inference.Hub;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Hub;

/// <summary>`models pull` against a real HTTP hub on loopback serving the bundled demo models under the Hugging Face routes.</summary>
public sealed class PullTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void AssertSameFiles(string expectedDir, string actualDir, IEnumerable<string> files)
    {
        foreach (var f in files)
            Assert.True(File.ReadAllBytes(Path.Combine(expectedDir, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actualDir, f))), $"{f} differs");
    }

    [Fact]
    public async Task A_pulled_clip_model_has_the_bundled_files_and_classifies_exactly_as_the_bundled_one()
    {
        await using var bed = await HubTestBed.StartAsync();
        var result = await bed.PullAsync("local/clip-shapes");
        Assert.Equal("clip-shapes", result.GetProperty("model").GetString());
        Assert.Equal("clip", result.GetProperty("kind").GetString());
        Assert.Equal("fp32", result.GetProperty("variant").GetString());
        Assert.Equal(40, result.GetProperty("commit").GetString()!.Length);

        // What the CLIP engine reads: both towers, the combined graph (its trained logit scale), configs and tokenizer.
        var files = HubTestBed.FilesUnder(bed.Model("clip-shapes"));
        Assert.Equal(HubTestBed.FilesUnder(Repo.Model("clip-shapes")), files);
        Assert.Contains("onnx/text_model.onnx", files);
        Assert.Contains("merges.txt", files);
        AssertSameFiles(Repo.Model("clip-shapes"), bed.Model("clip-shapes"), files);
        Assert.True(File.Exists(bed.Model("clip-shapes", PullManifest.FileName)));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(Path.Combine(bed.ModelsRoot, ModelPuller.StagingFolder)), Directory.Exists);

        // LFS-style files went through the hub's redirect to the CDN route; small files came from the hub directly.
        var requests = bed.Hub.Requests.ToList();
        Assert.Contains(requests, r => r is { Route: HubRoute.Cdn, Path: "onnx/text_model.onnx" });
        Assert.DoesNotContain(requests, r => r is { Route: HubRoute.Cdn, Path: "tokenizer.json" });

        var image = Repo.Model("clip-shapes", "goldens", "image0.png");
        string[] classify = ["classify", "--image", image, "--labels", "red circle,blue square,yellow star,green triangle"];
        var pulled = await bed.CliAsync(classify);
        Assert.True(pulled.Code == 0, pulled.Stderr);
        var bundled = await CliRunner.RunAsync(Repo.Models, classify);
        Assert.Equal(Without(bundled, "timings"), Without(pulled.Stdout, "timings"));
    }

    [Fact]
    public async Task A_pulled_chat_model_answers_exactly_as_the_bundled_one()
    {
        await using var bed = await HubTestBed.StartAsync();
        var result = await bed.PullAsync("local/shapes-chat");
        Assert.Equal("chat", result.GetProperty("kind").GetString());
        AssertSameFiles(Repo.Model("shapes-chat"), bed.Model("shapes-chat"), HubTestBed.FilesUnder(bed.Model("shapes-chat")));
        Assert.True(File.Exists(bed.Model("shapes-chat", "generation_config.json")));
        Assert.True(File.Exists(bed.Model("shapes-chat", "chat_template.jinja")));

        string[] chat = ["chat", "--prompt", "write a prompt for a picture of a red circle", "--temperature", "0", "--max-tokens", "24", "--json"];
        var pulled = await bed.CliAsync(chat);
        Assert.True(pulled.Code == 0, pulled.Stderr);
        var bundled = await CliRunner.RunAsync(Repo.Models, chat);
        var a = JsonDocument.Parse(bundled).RootElement;
        var b = JsonDocument.Parse(pulled.Stdout).RootElement;
        Assert.Equal("shapes-chat", b.GetProperty("model").GetString());
        Assert.Equal(a.GetProperty("text").GetString(), b.GetProperty("text").GetString());
        Assert.False(string.IsNullOrEmpty(b.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task A_dropped_connection_is_resumed_with_a_range_request()
    {
        await using var bed = await HubTestBed.StartAsync();
        // The vision graph's CDN body drops after 1 MB on the first two tries; the third completes from where the file ends.
        bed.Faults.BodyRule = (route, path, n) => route == HubRoute.Cdn && path == "onnx/vision_model.onnx" && n < 2 ? new BodyFault(DropAfterBytes: 1 << 20) : null;
        await bed.PullAsync("local/clip-shapes");
        AssertSameFiles(Repo.Model("clip-shapes"), bed.Model("clip-shapes"), ["onnx/vision_model.onnx"]);
        var tries = bed.Hub.Requests.Where(r => r is { Route: HubRoute.Cdn, Path: "onnx/vision_model.onnx" }).ToList();
        Assert.Equal(3, tries.Count);
        Assert.Null(tries[0].Range);
        // Each retry asks for the rest from where the partial file ends (what arrived before the connection dropped).
        var offsets = tries.Skip(1).Select(t => RangeStart(t.Range)).ToList();
        Assert.True(offsets[0] > 0 && offsets[1] > offsets[0], string.Join(", ", tries.Select(t => t.Range)));
    }

    private static long RangeStart(string? range)
    {
        Assert.NotNull(range);
        Assert.StartsWith("bytes=", range);
        Assert.EndsWith("-", range);
        return long.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_connection_that_keeps_dropping_fails_clearly_leaves_no_model_and_the_next_pull_resumes()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Faults.BodyRule = (route, path, n) => route == HubRoute.Cdn && path == "onnx/text_model.onnx" ? new BodyFault(DropAfterBytes: 512 << 10) : null;
        var (code, _, stderr) = await bed.CliAsync("models", "pull", "local/clip-shapes", "--quiet");
        Assert.Equal(1, code);
        Assert.Contains("onnx/text_model.onnx", stderr);
        Assert.Contains("failed after 4 attempts", stderr);
        Assert.Contains("resume", stderr);
        Assert.False(Directory.Exists(bed.Model("clip-shapes")));
        var list = await bed.CliAsync("models", "list");
        Assert.Equal(0, JsonDocument.Parse(list.Stdout).RootElement.GetArrayLength());
        // Each attempt resumed from where the last one stopped; the partial file is kept for the next pull.
        var partial = Path.Combine(bed.ModelsRoot, ModelPuller.StagingFolder, "clip-shapes", "onnx", "text_model.onnx.incomplete");
        var kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, 4 * (512 << 10));
        var offsets = bed.Hub.Requests.Where(r => r is { Route: HubRoute.Cdn, Path: "onnx/text_model.onnx" }).Skip(1).Select(r => RangeStart(r.Range)).ToList();
        Assert.Equal(3, offsets.Count);
        Assert.Equal(offsets.Order(), offsets);

        bed.Faults.BodyRule = null;
        var before = bed.Hub.Requests.Count;
        var result = await bed.PullAsync("local/clip-shapes");
        Assert.True(result.GetProperty("downloaded").GetInt64() < result.GetProperty("total_bytes").GetInt64());
        Assert.Contains(bed.Hub.Requests.Skip(before), r => r.Route == HubRoute.Cdn && r.Path == "onnx/text_model.onnx" && r.Range == $"bytes={kept}-");
        AssertSameFiles(Repo.Model("clip-shapes"), bed.Model("clip-shapes"), ["onnx/text_model.onnx", "onnx/vision_model.onnx"]);
    }

    [Fact]
    public async Task Wrong_bytes_fail_the_checksum_and_the_file_is_deleted()
    {
        await using var bed = await HubTestBed.StartAsync();
        var staging = Path.Combine(bed.ModelsRoot, ModelPuller.StagingFolder, "clip-shapes");
        bed.Faults.BodyRule = (route, path, _) => path == "onnx/vision_model.onnx" ? new BodyFault(Corrupt: true) : null;
        var (code, _, stderr) = await bed.CliAsync("models", "pull", "local/clip-shapes", "--quiet");
        Assert.Equal(1, code);
        Assert.Contains("onnx/vision_model.onnx arrived corrupt: its sha256 is", stderr);
        Assert.False(Directory.Exists(bed.Model("clip-shapes")));
        Assert.False(File.Exists(Path.Combine(staging, "onnx", "vision_model.onnx.incomplete")));
        Assert.False(File.Exists(Path.Combine(staging, "onnx", "vision_model.onnx")));

        // A small (non-LFS) file is checked against its git blob id (the files verified above are dropped so they are fetched again).
        Directory.Delete(staging, recursive: true);
        bed.Faults.BodyRule = (route, path, _) => path == "tokenizer.json" ? new BodyFault(Corrupt: true) : null;
        var small = await bed.CliAsync("models", "pull", "local/clip-shapes", "--quiet");
        Assert.Equal(1, small.Code);
        Assert.Contains("tokenizer.json arrived corrupt: its git blob id is", small.Stderr);
        Assert.False(File.Exists(Path.Combine(staging, "tokenizer.json.incomplete")));
        Assert.False(File.Exists(Path.Combine(staging, "tokenizer.json")));
        Assert.False(Directory.Exists(bed.Model("clip-shapes")));
    }

    [Fact]
    public async Task A_gated_repo_needs_the_token_which_goes_to_the_hub_but_not_to_the_cdn()
    {
        await using var bed = await HubTestBed.StartAsync(token: "hf_test_secret");
        var denied = await bed.CliAsync("models", "pull", "local/clip-shapes", "--quiet");
        Assert.Equal(1, denied.Code);
        Assert.Contains("gated", denied.Stderr);
        Assert.Contains("HF_TOKEN", denied.Stderr);

        bed.Settings["HF_TOKEN"] = "hf_wrong";
        var wrong = await bed.CliAsync("models", "pull", "local/clip-shapes", "--quiet");
        Assert.Equal(1, wrong.Code);
        Assert.Contains("no access", wrong.Stderr);
        Assert.DoesNotContain("hf_wrong", wrong.Stderr);

        bed.Settings["HF_TOKEN"] = "hf_test_secret";
        var result = await bed.PullAsync("local/clip-shapes");
        Assert.Equal("clip-shapes", result.GetProperty("model").GetString());
        Assert.DoesNotContain("hf_test_secret", result.GetRawText());
        var requests = bed.Hub.Requests.ToList();
        Assert.All(requests.Where(r => r.Route == HubRoute.Cdn), r => Assert.False(r.HadAuthorization));
        Assert.Contains(requests, r => r is { Route: HubRoute.Resolve, HadAuthorization: true });
    }

    [Fact]
    public async Task Unknown_repo_and_revision_are_clear_404s()
    {
        await using var bed = await HubTestBed.StartAsync();
        var repo = await bed.CliAsync("models", "pull", "local/no-such-model", "--quiet");
        Assert.Equal(1, repo.Code);
        Assert.Contains("local/no-such-model was not found", repo.Stderr);
        var revision = await bed.CliAsync("models", "pull", "local/clip-shapes@v9", "--quiet");
        Assert.Equal(1, revision.Code);
        Assert.Contains("Revision 'v9' was not found", revision.Stderr);
        var bad = await bed.CliAsync("models", "pull", "not a repo");
        Assert.Equal(2, bad.Code);
        Assert.Contains("not a repository id", bad.Stderr);
        Assert.DoesNotContain(Directory.GetDirectories(bed.ModelsRoot), d => !Path.GetFileName(d).StartsWith('.'));
    }

    [Fact]
    public async Task Not_enough_disk_space_is_refused_before_any_file_is_fetched()
    {
        await using var bed = await HubTestBed.StartAsync();
        bed.Settings["Hub:ReserveBytes"] = (1L << 60).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (code, _, stderr) = await bed.CliAsync("models", "pull", "local/clip-shapes", "--quiet");
        Assert.Equal(1, code);
        Assert.Contains("Not enough disk space", stderr);
        Assert.DoesNotContain(bed.Hub.Requests, r => r.Route == HubRoute.Cdn || (r.Route == HubRoute.Resolve && r.Path != "config.json"));
    }

    [Fact]
    public async Task A_full_disk_while_writing_is_reported_and_the_partial_file_removed()
    {
        if (!File.Exists("/dev/full")) Assert.Skip("needs /dev/full");
        await using var bed = await HubTestBed.StartAsync();
        // The partial file of one graph is a link to /dev/full, whose every write fails with ENOSPC.
        var partial = Path.Combine(bed.ModelsRoot, ModelPuller.StagingFolder, "clip-shapes", "onnx", "text_model.onnx.incomplete");
        Directory.CreateDirectory(Path.GetDirectoryName(partial)!);
        File.CreateSymbolicLink(partial, "/dev/full");
        var (code, _, stderr) = await bed.CliAsync("models", "pull", "local/clip-shapes", "--quiet");
        Assert.Equal(1, code);
        Assert.Contains("disk is full", stderr);
        Assert.False(File.Exists(partial) || new FileInfo(partial).LinkTarget is not null);
        Assert.False(Directory.Exists(bed.Model("clip-shapes")));
    }

    [Fact]
    public async Task Offline_mode_serves_a_complete_pulled_model_and_refuses_anything_else_without_network()
    {
        await using var bed = await HubTestBed.StartAsync();
        await bed.PullAsync("local/clip-shapes");
        bed.Settings["HF_HUB_OFFLINE"] = "1";
        var before = bed.Hub.Requests.Count;
        var present = await bed.PullAsync("local/clip-shapes");
        Assert.True(present.GetProperty("already_present").GetBoolean());
        var absent = await bed.CliAsync("models", "pull", "local/shapes-chat", "--quiet");
        Assert.Equal(1, absent.Code);
        Assert.Contains("Offline mode", absent.Stderr);
        Assert.Equal(before, bed.Hub.Requests.Count);
    }

    [Fact]
    public async Task Pulling_again_fetches_nothing_and_another_model_in_the_folder_is_not_overwritten()
    {
        await using var bed = await HubTestBed.StartAsync();
        await bed.PullAsync("local/clip-shapes");
        var before = bed.Hub.Requests.Count(r => r.Route == HubRoute.Cdn);
        var again = await bed.PullAsync("local/clip-shapes");
        Assert.True(again.GetProperty("already_present").GetBoolean());
        Assert.Equal(0, again.GetProperty("downloaded").GetInt64());
        Assert.Equal(before, bed.Hub.Requests.Count(r => r.Route == HubRoute.Cdn));

        var clash = await bed.CliAsync("models", "pull", "local/shapes-chat", "--name", "clip-shapes", "--quiet");
        Assert.Equal(1, clash.Code);
        Assert.Contains("already holds local/clip-shapes", clash.Stderr);
    }

    [Fact]
    public async Task List_info_and_rm_show_and_remove_a_pulled_model()
    {
        await using var bed = await HubTestBed.StartAsync();
        await bed.PullAsync("local/shapes-vlm");
        var list = JsonDocument.Parse((await bed.CliAsync("models", "list")).Stdout).RootElement;
        var vlm = Assert.Single(list.EnumerateArray());
        Assert.Equal("shapes-vlm", vlm.GetProperty("id").GetString());
        Assert.Equal("vlm", vlm.GetProperty("kind").GetString());
        Assert.Equal("ready", vlm.GetProperty("status").GetString());
        Assert.Equal("local/shapes-vlm", vlm.GetProperty("source").GetProperty("repo").GetString());
        Assert.True(vlm.GetProperty("bytes").GetInt64() > 7_000_000);

        var info = await bed.CliAsync("models", "info", "shapes-vlm");
        Assert.Equal(0, info.Code);
        var files = JsonDocument.Parse(info.Stdout).RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetString()).ToList();
        Assert.Contains("onnx/decoder_model_merged.onnx", files);

        var rm = await bed.CliAsync("models", "rm", "shapes-vlm");
        Assert.Equal(0, rm.Code);
        Assert.True(JsonDocument.Parse(rm.Stdout).RootElement.GetProperty("deleted").GetBoolean());
        Assert.False(Directory.Exists(bed.Model("shapes-vlm")));
        Assert.Equal(2, (await bed.CliAsync("models", "info", "shapes-vlm")).Code);
    }

    private static string Without(string json, string property)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        Strip(node, property);
        return node.ToJsonString();
    }

    private static void Strip(System.Text.Json.Nodes.JsonNode? node, string property)
    {
        switch (node)
        {
            case System.Text.Json.Nodes.JsonObject o:
                o.Remove(property);
                foreach (var (_, child) in o) Strip(child, property);
                break;
            case System.Text.Json.Nodes.JsonArray a:
                foreach (var child in a) Strip(child, property);
                break;
        }
    }
}

/// <summary>The CLI in-process on a given models root (the bundled models, for reference answers).</summary>
internal static class CliRunner
{
    public static async Task<string> RunAsync(string modelsRoot, string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await MultimodalHub.Inference.Cli.CliApp.RunAsync(args[0], args[1..], stdout, stderr, TestContext.Current.CancellationToken,
            new Dictionary<string, string?> { ["Inference:ModelRoots:0"] = modelsRoot, ["Inference:IntraOpThreads"] = "2" });
        Assert.True(code == 0, stderr.ToString());
        return stdout.ToString();
    }
}
