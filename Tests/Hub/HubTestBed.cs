using System.Collections.Concurrent;
using System.Text.Json;
using MultimodalHub.Inference.Cli;
using MultimodalHub.Inference.Hub;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Hub;

/// <summary>Faults the local hub injects, set by a test: a status per request, a body fault per file request (counted).</summary>
public sealed class TestFaults : IHubFaults
{
    private readonly ConcurrentDictionary<string, int> _bodyCalls = new(StringComparer.Ordinal);

    public Func<HubRoute, string, string?, int?>? StatusRule { get; set; }

    /// <summary>(route, path, how many times this path's body was served before) → fault.</summary>
    public Func<HubRoute, string, int, BodyFault?>? BodyRule { get; set; }

    public int? Status(HubRoute route, string repo, string? path) => StatusRule?.Invoke(route, repo, path);

    public BodyFault? Body(HubRoute route, string repo, string path)
    {
        var n = _bodyCalls.AddOrUpdate(path, 1, (_, c) => c + 1) - 1;
        return BodyRule?.Invoke(route, path, n);
    }
}

/// <summary>
/// A local hub (Kestrel on loopback, in this process) serving a folder of model folders as "local/{name}", a fresh
/// empty models root to pull into, and the CLI run in-process against both.
/// </summary>
public sealed class HubTestBed : IAsyncDisposable
{
    private HubTestBed(LocalHubServer hub, TestFaults faults, string modelsRoot)
    {
        Hub = hub;
        Faults = faults;
        ModelsRoot = modelsRoot;
    }

    public LocalHubServer Hub { get; }

    public TestFaults Faults { get; }

    /// <summary>The empty models root pulls go into.</summary>
    public string ModelsRoot { get; }

    public Dictionary<string, string?> Settings { get; } = new(StringComparer.Ordinal);

    public static async Task<HubTestBed> StartAsync(string? hubRoot = null, string? token = null)
    {
        var faults = new TestFaults();
        var hub = await LocalHubServer.StartAsync(new LocalHubOptions(hubRoot ?? Repo.Models, Token: token), faults, TestContext.Current.CancellationToken);
        var root = Directory.CreateTempSubdirectory("hub-pull-").FullName;
        var bed = new HubTestBed(hub, faults, root);
        bed.Settings["Inference:ModelRoots:0"] = root;
        bed.Settings["Inference:IntraOpThreads"] = "2";
        bed.Settings["HF_ENDPOINT"] = hub.Endpoint.ToString();
        bed.Settings["HF_TOKEN"] = "";
        bed.Settings["HF_HOME"] = Path.Combine(root, ".no-hf-home");
        bed.Settings["HF_HUB_OFFLINE"] = "0";
        bed.Settings["Hub:RetryDelay"] = "00:00:00.020";
        bed.Settings["Hub:Retries"] = "3";
        return bed;
    }

    public async Task<(int Code, string Stdout, string Stderr)> CliAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args[0], args[1..], stdout, stderr, TestContext.Current.CancellationToken, Settings);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>`models pull REPO ... --quiet`, asserting success; returns the printed result.</summary>
    public async Task<JsonElement> PullAsync(params string[] args)
    {
        var (code, stdout, stderr) = await CliAsync(["models", "pull", .. args, "--quiet"]);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    public string Model(string name, params string[] parts) => Path.Combine([ModelsRoot, name, .. parts]);

    /// <summary>Relative paths of every file under a folder, dot files and goldens/ excluded.</summary>
    public static List<string> FilesUnder(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
        .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/'))
        .Where(f => !f.StartsWith('.') && !f.StartsWith("goldens/", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal).ToList();

    public async ValueTask DisposeAsync()
    {
        await Hub.DisposeAsync();
        try { Directory.Delete(ModelsRoot, recursive: true); }
        catch (IOException) { }
    }
}
