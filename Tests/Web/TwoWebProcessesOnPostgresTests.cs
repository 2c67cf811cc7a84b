using System.Net;
using Microsoft.EntityFrameworkCore;
using MultimodalHub.Data.Accounts;
using MultimodalHub.Data.Entities;
using MultimodalHub.Data.Services;
using MultimodalHub.Tests.Data;
using MultimodalHub.Tests.Support;

namespace MultimodalHub.Tests.Web;

/// <summary>
/// Two real web app processes (the built Web dll) on one PostgreSQL database (the test run's cluster) and one blob
/// folder, driven over HTTP at once: registrations, sign-ins whose cookies the other process honours, share views;
/// then one is killed and the other's periodic recovery fails only the dead one's runs. Runs, chat messages and
/// uploads are made through Blazor circuits, which need a browser: the Data-level MultiInstanceTestsOnPostgres cover
/// those writes; here the dead instance's runs are written to the database with its instance id.
/// </summary>
[Collection(PostgresServer.Collection)]
public sealed class TwoWebProcessesOnPostgresTests(PostgresServer server)
{
    private const string Password = "two-web-pw-12345";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ServiceProcess StartWeb(Uri url, IReadOnlyDictionary<string, string?> database, string blobs)
    {
        var environment = new Dictionary<string, string>
        {
            ["Data__BlobPath"] = blobs,
            ["Data__RunRecoveryInterval"] = "00:00:01",
            ["Auth__AllowRegistration"] = "true",
            ["Inference__BaseUrl"] = "http://127.0.0.1:9/",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in database)
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value!;
        return new ServiceProcess(HubBinaries.Web, ["--urls", url.ToString().TrimEnd('/')], environment);
    }

    private static HttpClient Client(Uri url, CookieContainer? cookies = null) =>
        new(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false, UseCookies = true })
        {
            BaseAddress = url,
            Timeout = TimeSpan.FromMinutes(1),
        };

    private static async Task<int?> LiveServiceKeyInstanceAsync(HubDataHarness db, int? other)
    {
        await using var context = db.NewContext();
        return await context.ApiKeys.Where(k => k.IsService && k.RevokedAt == null && k.Instance != other).Select(k => k.Instance).SingleAsync(Ct);
    }

    [Fact]
    public async Task Two_processes_lose_and_duplicate_nothing_and_the_survivor_fails_only_the_dead_ones_runs()
    {
        var dir = Path.Combine(Path.GetTempPath(), "hub-two-web", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var database = await server.SettingsAsync(dir, Ct);
            await using var harness = await HubDataHarness.StartAsync(server, directory: dir);
            var (urlA, urlB) = (new Uri($"http://127.0.0.1:{ServiceProcess.FreePort()}/"), new Uri($"http://127.0.0.1:{ServiceProcess.FreePort()}/"));
            using var a = StartWeb(urlA, database, harness.BlobPath);
            await a.WaitForOkAsync(new Uri(urlA, "readyz"), TimeSpan.FromMinutes(3), Ct);
            var instanceA = await LiveServiceKeyInstanceAsync(harness, null); // each instance's own key carries its id
            using var b = StartWeb(urlB, database, harness.BlobPath);
            await b.WaitForOkAsync(new Uri(urlB, "readyz"), TimeSpan.FromMinutes(3), Ct);
            var instanceB = await LiveServiceKeyInstanceAsync(harness, instanceA);
            Assert.NotNull(instanceA);
            Assert.NotEqual(instanceA, instanceB);

            using (var setup = Client(urlA))
            {
                var made = await WebAppHost.PostFormAsync(setup, "/setup", "/account/setup", new() { ["userName"] = "admin", ["password"] = Password, ["confirm"] = Password }, Ct);
                Assert.Equal(HttpStatusCode.Redirect, made.StatusCode);
            }
            var shared = await harness.Runs.CreateAsync(new(RunKind.Caption, "shapes-vlm", "shared") { OwnerId = Owner.LocalId }, Ct);
            await harness.Runs.MarkSucceededAsync(shared.Id, new(Text: "a red star on two hosts"), Ct);
            var link = await harness.Shares.CreateAsync(new([shared.Id]), Ct);

            // At once through both: 16 registrations (each signed-in client then reads a page of the other process
            // with its cookie), one name registered on both at the same moment, 2 x 20 share views.
            const int Users = 16, ViewsEach = 20;
            async Task<string?> RegisterAsync(string name, Uri on, Uri other)
            {
                var cookies = new CookieContainer();
                using var client = Client(on, cookies);
                var response = await WebAppHost.PostFormAsync(client, "/account/register", "/account/register",
                    new() { ["userName"] = name, ["password"] = Password, ["confirm"] = Password }, Ct);
                Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
                if (response.Headers.Location?.ToString() != "/")
                    return response.Headers.Location?.ToString();
                using var elsewhere = Client(other, cookies);
                using var page = await elsewhere.GetAsync("/history", Ct);
                Assert.Equal(HttpStatusCode.OK, page.StatusCode); // the cookie keys live in the shared blob folder
                return null;
            }
            async Task<int> ViewAsync(Uri on)
            {
                using var client = Client(on);
                var ok = 0;
                for (var i = 0; i < ViewsEach; i++)
                {
                    var html = await client.GetStringAsync($"/s/{link.Token}", Ct);
                    Assert.Contains("a red star on two hosts", html);
                    ok++;
                }
                return ok;
            }
            var registrations = Enumerable.Range(0, Users).Select(i => Task.Run(() => i % 2 == 0 ? RegisterAsync($"user{i}", urlA, urlB) : RegisterAsync($"user{i}", urlB, urlA), Ct)).ToList();
            var twins = new[] { Task.Run(() => RegisterAsync("twin", urlA, urlB), Ct), Task.Run(() => RegisterAsync("twin", urlB, urlA), Ct) };
            var views = new[] { Task.Run(() => ViewAsync(urlA), Ct), Task.Run(() => ViewAsync(urlB), Ct) };
            Assert.All(await Task.WhenAll(registrations), error => Assert.Null(error));
            var twinErrors = await Task.WhenAll(twins);
            Assert.Single(twinErrors, e => e is null); // one of the two got the name, the other was told it is taken
            Assert.Equal(2 * ViewsEach, (await Task.WhenAll(views)).Sum());

            await using (var context = harness.NewContext())
            {
                var names = await context.Users.Select(u => u.UserName!).ToListAsync(Ct);
                Assert.Equal(Enumerable.Range(0, Users).Select(i => $"user{i}").Append("admin").Append("twin").Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
            }
            Assert.Equal(2 * ViewsEach, (await harness.Shares.ListAsync(OwnerScope.Local, Ct)).Single().ViewCount);

            // Runs in flight on each instance; then A dies without a word (killed, its connection and lease with it).
            var now = DateTimeOffset.UtcNow;
            Run InFlight(string prompt, RunStatus status, int? instance) => new()
            {
                Kind = RunKind.Imagine,
                Model = "sd-shapes",
                Prompt = prompt,
                Status = status,
                Instance = instance,
                Created = now,
                OwnerId = Owner.LocalId,
                Started = status == RunStatus.Running ? now : null,
            };
            var runs = new[] { InFlight("a: running", RunStatus.Running, instanceA), InFlight("a: queued", RunStatus.Queued, instanceA), InFlight("b: running", RunStatus.Running, instanceB) };
            await using (var context = harness.NewContext())
            {
                context.Runs.AddRange(runs);
                await context.SaveChangesAsync(Ct);
            }
            var ids = runs.Select(r => r.Id).ToList();
            await Task.Delay(TimeSpan.FromSeconds(2), Ct); // several of both instances' recovery rounds: nothing of a live instance moves
            await using (var context = harness.NewContext())
                Assert.Equal(3, await context.Runs.CountAsync(r => ids.Contains(r.Id) && r.Error == null, Ct));

            a.Dispose();
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
            Dictionary<long, (RunStatus Status, string? Error)> after;
            do
            {
                await Task.Delay(300, Ct);
                await using var context = harness.NewContext();
                after = await context.Runs.Where(r => ids.Contains(r.Id)).ToDictionaryAsync(r => r.Id, r => (r.Status, r.Error), Ct);
            }
            while (after[runs[0].Id].Status == RunStatus.Running && DateTime.UtcNow < deadline);
            Assert.Equal((RunStatus.Failed, StartupRecovery.InterruptedError), after[runs[0].Id]);
            Assert.Equal((RunStatus.Failed, StartupRecovery.InterruptedError), after[runs[1].Id]);
            Assert.Equal((RunStatus.Running, (string?)null), after[runs[2].Id]);

            // B goes on: its views are counted, its sign-ins work.
            Assert.Equal(ViewsEach, await ViewAsync(urlB));
            Assert.Equal(3 * ViewsEach, (await harness.Shares.ListAsync(OwnerScope.Local, Ct)).Single().ViewCount);
            Assert.Null(await RegisterAsync("late", urlB, urlB));
        }
        finally
        {
            await server.DropAsync(dir);
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
