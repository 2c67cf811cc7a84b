using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Playwright;

[assembly: AssemblyFixture(typeof(MultimodalHub.E2E.PlatformFixture))]

namespace MultimodalHub.E2E;

/// <summary>
/// The real platform for the browser tests: the built Inference and Web executables (this fixture builds nothing;
/// the test command builds the solution first) started as two processes on free loopback ports, with a temporary
/// database and data folder, plus Chromium driven by Playwright. Both processes are killed (whole process trees)
/// when the tests end, pass or fail.
/// </summary>
public sealed class PlatformFixture : IAsyncLifetime
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Artifacts { get; } = Path.Combine(RepoRoot, "artifacts", "e2e");

    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "hub-e2e-" + Guid.NewGuid().ToString("N")[..10]);

    public Uri WebUrl { get; private set; } = null!;

    public Uri InferenceUrl { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The admin account the fixture creates before the web app starts (the first account).</summary>
    public const string AdminName = "e2e-admin";

    public string AdminPassword { get; } = "e2e-pw-" + Guid.NewGuid().ToString("N")[..12];

    private string? _adminState;

    private readonly List<Process> _processes = [];
    private readonly List<ProcessLog> _logs = [];
    private IPlaywright? _playwright;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Artifacts);
        Directory.CreateDirectory(DataDir);
        var logs = Path.Combine(Artifacts, "logs");
        Directory.CreateDirectory(logs);
        try
        {
            var inferencePort = FreePort();
            var webPort = FreePort();
            InferenceUrl = new Uri($"http://127.0.0.1:{inferencePort}/");
            WebUrl = new Uri($"http://127.0.0.1:{webPort}/");

            // The first account, made with the web app's CLI before the web app starts (tests that need a fresh
            // database without accounts start their own web app: StartExtraWebAsync).
            await CreateAccountAsync(AdminName, AdminPassword, "--admin");
            var inference = Start("inference", Built("Inference", "MultimodalHub.Inference.dll"), Path.Combine(RepoRoot, "Inference"), logs,
                "serve", "--urls", InferenceUrl.ToString().TrimEnd('/'), $"--Inference:ModelRoots:0={Path.Combine(RepoRoot, "models")}",
                "--Inference:IntraOpThreads=2", "--Limits:RequestsPerMinute=0");
            var web = StartWeb(logs);

            await WaitReadyAsync(new Uri(InferenceUrl, "readyz"), inference, TimeSpan.FromSeconds(90));
            await WaitReadyAsync(new Uri(WebUrl, "readyz"), web, TimeSpan.FromSeconds(90));

            _playwright = await Playwright.CreateAsync();
            Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Environment.GetEnvironmentVariable("HUB_CHROMIUM") ?? "/usr/bin/chromium",
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"],
            });
            _adminState = await SignInStateAsync(AdminName, AdminPassword);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>A fresh browser context signed in as the fixture's admin, with a page, console errors collected.</summary>
    public Task<(IBrowserContext Context, IPage Page, List<string> Errors)> NewPageAsync() => NewPageAsync(_adminState);

    /// <summary>A fresh browser context with no cookies (not signed in).</summary>
    public Task<(IBrowserContext Context, IPage Page, List<string> Errors)> NewAnonymousPageAsync(Uri? baseUrl = null) => NewPageAsync(null, baseUrl);

    /// <summary>Creates an account (role flag "--admin", "--viewer" or "" for a user) with the web app's CLI
    /// (`users add NAME --password-stdin`) on this fixture's database, or on <paramref name="dataDir"/>'s.</summary>
    public async Task CreateAccountAsync(string name, string password, string roleFlag = "", string? dataDir = null)
    {
        dataDir ??= DataDir;
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.Combine(RepoRoot, "Web"), UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Built("Web", "MultimodalHub.Web.dll"), "users", "add", name, "--password-stdin", $"--Data:DatabasePath={Path.Combine(dataDir, "hub.db")}", $"--Data:BlobPath={Path.Combine(dataDir, "blobs")}" })
            psi.ArgumentList.Add(a);
        if (roleFlag.Length > 0) psi.ArgumentList.Add(roleFlag);
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("Could not start the web app's CLI");
        await process.StandardInput.WriteLineAsync(password);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"users add {name} failed ({process.ExitCode}): {await output} {await error}");
    }

    /// <summary>Signs in through the sign-in form and returns the browser's storage state (the cookie) for new contexts.</summary>
    public async Task<string> SignInStateAsync(string name, string password)
    {
        var (context, page, _) = await NewAnonymousPageAsync();
        await using var _ = context;
        await SignInAsync(page, name, password);
        return await context.StorageStateAsync();
    }

    /// <summary>Fills and posts the sign-in form, then waits until the app's start page is shown.</summary>
    public static async Task SignInAsync(IPage page, string name, string password)
    {
        await page.GotoAsync("/account/login");
        await page.GetByTestId("login-user").FillAsync(name);
        await page.GetByTestId("login-password").FillAsync(password);
        await page.GetByTestId("login-submit").ClickAsync();
        await page.WaitForURLAsync(u => !u.Contains("/account/login", StringComparison.Ordinal));
    }

    /// <summary>A new context with the given storage state (null: no cookies) and a page.</summary>
    public async Task<(IBrowserContext Context, IPage Page, List<string> Errors)> NewPageAsync(string? storageState, Uri? baseUrl = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = (baseUrl ?? WebUrl).ToString(),
            ViewportSize = new ViewportSize { Width = 1366, Height = 900 },
            StorageState = storageState,
        });
        context.SetDefaultTimeout(30_000);
        Assertions.SetDefaultExpectTimeout(20_000);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") lock (errors) errors.Add(m.Text); };
        page.PageError += (_, e) => { lock (errors) errors.Add(e); };
        return (context, page, errors);
    }

    /// <summary>Asserts that no collected console error mentions the Content Security Policy; takes the same lock the
    /// page's console and page-error handlers use, since they may still be adding entries.</summary>
    public static void AssertNoCspErrors(List<string> errors)
    {
        lock (errors) Assert.DoesNotContain(errors, e => e.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Waits until the page's Blazor circuit is live (the layout marks the body after its first interactive render).</summary>
    public static Task WaitInteractiveAsync(IPage page) =>
        page.Locator("body[data-interactive='1']").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });

    /// <summary>Sets files on the page's file input until <paramref name="done"/> shows up: right after the circuit
    /// starts, InputFile's own JS set-up may not have finished, and a change event then goes unseen.</summary>
    public static async Task UploadAsync(IPage page, ILocator done, params FilePayload[] files)
    {
        for (var attempt = 1; ; attempt++)
        {
            await page.Locator("input[type=file]").Last.SetInputFilesAsync(files);
            try
            {
                await Assertions.Expect(done.First).ToBeVisibleAsync(new() { Timeout = attempt < 4 ? 5_000 : 20_000 });
                return;
            }
            catch (PlaywrightException) when (attempt < 4) { }
        }
    }

    public static FilePayload PngFile(string path) => new() { Name = Path.GetFileName(path), MimeType = "image/png", Buffer = System.IO.File.ReadAllBytes(path) };

    public static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Artifacts, name + ".png"), FullPage = true });

    // Sign-ins are checked again every 2 s (default 30 s), so a disabled account's pages end quickly in the tests.
    private Process StartWeb(string logs, string name = "web") => StartWeb(logs, name, WebUrl, DataDir);

    private Process StartWeb(string logs, string name, Uri url, string dataDir) =>
        Start(name, Built("Web", "MultimodalHub.Web.dll"), Path.Combine(RepoRoot, "Web"), logs,
            "--urls", url.ToString().TrimEnd('/'), $"--Inference:BaseUrl={InferenceUrl}",
            $"--Data:DatabasePath={Path.Combine(dataDir, "hub.db")}", $"--Data:BlobPath={Path.Combine(dataDir, "blobs")}",
            "--Auth:RevalidationInterval=00:00:02");

    /// <summary>A second web app on its own free port and a new, empty database (no account yet), stopped with the fixture.</summary>
    public async Task<Uri> StartFreshWebAsync(string name)
    {
        var dir = Path.Combine(DataDir, name);
        Directory.CreateDirectory(dir);
        var url = new Uri($"http://127.0.0.1:{FreePort()}/");
        var web = StartWeb(Path.Combine(Artifacts, "logs"), name, url, dir);
        await WaitReadyAsync(new Uri(url, "readyz"), web, TimeSpan.FromSeconds(90));
        return url;
    }

    /// <summary>Kills the web process (whole tree, no graceful shutdown) and starts it again on the same database.</summary>
    public async Task RestartWebAsync()
    {
        var old = _processes[1];
        if (!old.HasExited) old.Kill(entireProcessTree: true);
        old.WaitForExit(10_000);
        var web = StartWeb(Path.Combine(Artifacts, "logs"), "web-restarted");
        _processes[1] = web;
        _processes.Add(old);
        await WaitReadyAsync(new Uri(WebUrl, "readyz"), web, TimeSpan.FromSeconds(90));
    }

    /// <summary>Kills the inference process (whole tree) to simulate a crash; Web keeps running.</summary>
    public void KillInference()
    {
        var p = _processes[0];
        if (!p.HasExited) p.Kill(entireProcessTree: true);
        p.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        try { if (Browser is not null) await Browser.CloseAsync(); } catch (PlaywrightException) { }
        _playwright?.Dispose();
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); p.WaitForExit(10_000); }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
        _processes.Clear();
        foreach (var log in _logs) log.Dispose();
        _logs.Clear();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private Process Start(string name, string dll, string workingDirectory, string logs, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {name}");
        _processes.Add(process);
        // Closed in DisposeAsync after the processes have exited; lines that still arrive later are dropped, never
        // written to a disposed writer (an exception on a pool thread would take the test host down).
        var log = new ProcessLog(Path.Combine(logs, name + ".log"));
        _logs.Add(log);
        process.OutputDataReceived += (_, e) => log.Write(e.Data);
        process.ErrorDataReceived += (_, e) => log.Write(e.Data);
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitReadyAsync(Uri url, Process process, TimeSpan limit)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + limit;
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"{url} : the process exited with code {process.ExitCode} during start-up (see artifacts/e2e/logs).");
            try
            {
                using var response = await http.GetAsync(url);
                if (response.StatusCode == HttpStatusCode.OK) return;
                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
            }
            catch (HttpRequestException e) { last = e.Message; }
            catch (TaskCanceledException) { last = "timeout"; }
            await Task.Delay(300);
        }
        throw new TimeoutException($"{url} did not become ready in {limit.TotalSeconds:0} s; last answer: {last}");
    }

    /// <summary>The dll built for this configuration (the e2e project's own), else the newest build of it.</summary>
    private static string Built(string project, string dll)
    {
        var config = new DirectoryInfo(AppContext.BaseDirectory).Parent?.Parent?.Parent?.Name; // bin/<Config>/net10.0/linux-x64/
        var bin = Path.Combine(RepoRoot, project, "bin");
        var preferred = Path.Combine(bin, config ?? "Debug", "net10.0", "linux-x64", dll);
        if (File.Exists(preferred)) return preferred;
        var any = Directory.Exists(bin)
            ? Directory.EnumerateFiles(bin, dll, SearchOption.AllDirectories).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            : null;
        return any ?? throw new FileNotFoundException($"{dll} is not built; build the solution first (dotnet build MultimodalHub.sln).", preferred);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MultimodalHub.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("MultimodalHub.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A process's output log: thread-safe writes, and writes after Dispose are ignored.</summary>
internal sealed class ProcessLog(string path) : IDisposable
{
    private readonly StreamWriter _writer = new(path, append: false) { AutoFlush = true };
    private bool _closed;

    public void Write(string? line)
    {
        if (line is null) return;
        lock (_writer)
            if (!_closed) _writer.WriteLine(line);
    }

    public void Dispose()
    {
        lock (_writer)
        {
            if (_closed) return;
            _closed = true;
            _writer.Dispose();
        }
    }
}

