using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MultimodalHub.Data;
using Npgsql;

namespace MultimodalHub.Tests.Support;

/// <summary>Which database a Data test runs on: <see cref="Sqlite"/> (a file in the test's directory) or a
/// <see cref="PostgresServer"/> (a fresh database per test on a cluster the test run starts).</summary>
public abstract class TestDatabase
{
    public static TestDatabase Sqlite { get; } = new SqliteTestDatabase();

    public abstract DataProvider Provider { get; }

    /// <summary>The "Data" and "ConnectionStrings" settings for a test whose files live in <paramref name="directory"/>;
    /// the same directory gives the same database (a "restart").</summary>
    public abstract Task<IReadOnlyDictionary<string, string?>> SettingsAsync(string directory, CancellationToken ct);

    /// <summary>Drops what <see cref="SettingsAsync"/> made for <paramref name="directory"/>.</summary>
    public abstract Task DropAsync(string directory);

    public override string ToString() => Provider.ToString();

    private sealed class SqliteTestDatabase : TestDatabase
    {
        public override DataProvider Provider => DataProvider.Sqlite;

        public override Task<IReadOnlyDictionary<string, string?>> SettingsAsync(string directory, CancellationToken ct) =>
            Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>
            {
                ["Data:DatabasePath"] = Path.Combine(directory, "hub.db"),
            });

        public override Task DropAsync(string directory)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            return Task.CompletedTask;
        }
    }
}

/// <summary>
/// A real PostgreSQL server for the test run: Debian's <c>postgresql</c> binaries (initdb, pg_ctl) start a throwaway
/// cluster in a temp directory on a free loopback port (as the <c>postgres</c> user when the tests run as root: the
/// server refuses root), one database is migrated once as a template, and each test gets a fresh copy of it. The
/// cluster is stopped and deleted at the end. Without the binaries every PostgreSQL test fails, saying what to install.
/// </summary>
public sealed class PostgresServer : TestDatabase, IAsyncLifetime
{
    public const string Collection = "PostgreSQL";
    private const string Template = "hub_template";
    private const string User = "hub";

    private string? _root;
    private string? _bin;
    private string? _runAs;

    public override DataProvider Provider => DataProvider.Postgres;

    public int Port { get; private set; }

    /// <summary>The server's version (e.g. 15).</summary>
    public string Version { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        _bin = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL's server binaries (initdb, pg_ctl) are not installed, so the PostgreSQL half of the Data tests cannot run. " +
            "Install Debian's package: apt-get install -y postgresql (.ci/run does), or set HUB_TEST_PG_BIN to a folder holding initdb and pg_ctl.");
        Version = Path.GetFileName(Path.GetDirectoryName(_bin)) ?? "";
        _root = Path.Combine(Path.GetTempPath(), "hub-pg-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_root);
        if (Environment.UserName == "root")
        {
            // The server will not run as root: the cluster belongs to the postgres user (Debian's package makes it).
            _runAs = await RunAsync("id", ["-u", "postgres"], ct, check: false) is (0, _) ? "postgres" : "nobody";
            await RunAsync("chown", [_runAs, _root], ct);
        }
        var data = Path.Combine(_root, "data");
        await RunAsync(Path.Combine(_bin, "initdb"), ["-D", data, "-U", User, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"], ct, asServer: true);
        for (var attempt = 0; ; attempt++)
        {
            Port = FreePort();
            var options = $"-c listen_addresses=127.0.0.1 -p {Port} -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off " +
                          "-c full_page_writes=off -c max_connections=300";
            var (code, output) = await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60", "-o", options, "start"], ct, check: false, asServer: true);
            if (code == 0)
                break;
            if (attempt == 2)
                throw new InvalidOperationException($"pg_ctl start failed ({code}): {output}\n{ServerLog()}");
        }
        await ExecuteAsync("postgres", $"CREATE DATABASE {Template}", ct);
        await using (var services = Services(Connection(Template)))
            await services.MigrateHubDataAsync(ct);
        NpgsqlConnection.ClearAllPools();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_bin is not null && _root is not null && Directory.Exists(Path.Combine(_root, "data")))
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_root, "data"), "-m", "immediate", "stop"], CancellationToken.None, check: false, asServer: true);
        if (_root is not null)
            try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>An Npgsql connection string for <paramref name="database"/> on this server.</summary>
    public string Connection(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = User,
        Database = database,
        Timeout = 30,
        MaxPoolSize = 50,
    }.ToString();

    public override async Task<IReadOnlyDictionary<string, string?>> SettingsAsync(string directory, CancellationToken ct)
    {
        var name = DatabaseFor(directory);
        var exists = await ScalarAsync("postgres", $"SELECT COUNT(*) FROM pg_database WHERE datname = '{name}'", ct);
        if (exists is 0L)
            await ExecuteAsync("postgres", $"CREATE DATABASE {name} TEMPLATE {Template}", ct);
        return new Dictionary<string, string?>
        {
            ["Data:Provider"] = nameof(DataProvider.Postgres),
            ["ConnectionStrings:Hub"] = Connection(name),
        };
    }

    public override async Task DropAsync(string directory)
    {
        var name = DatabaseFor(directory);
        NpgsqlConnection.ClearPool(new NpgsqlConnection(Connection(name)));
        await ExecuteAsync("postgres", $"DROP DATABASE IF EXISTS {name} WITH (FORCE)", CancellationToken.None);
    }

    /// <summary>Runs one statement on <paramref name="database"/> (as the cluster's superuser).</summary>
    public async Task ExecuteAsync(string database, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(Connection(database) + ";Pooling=false");
        await connection.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<object?> ScalarAsync(string database, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(Connection(database) + ";Pooling=false");
        await connection.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand(sql, connection);
        return await cmd.ExecuteScalarAsync(ct);
    }

    /// <summary>Lower-case letters, digits and underscores only, so it needs no quoting.</summary>
    public static string DatabaseFor(string directory) =>
        "hub_" + new string(Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)).ToLowerInvariant()
            .Where(c => char.IsAsciiLetterOrDigit(c) || c == '_').ToArray());

    private string ServerLog()
    {
        try { return File.ReadAllText(Path.Combine(_root!, "server.log")); } catch (IOException) { return ""; }
    }

    private static ServiceProvider Services(string connection)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Data:Provider"] = nameof(DataProvider.Postgres),
            ["ConnectionStrings:Hub"] = connection,
            ["Data:BlobPath"] = Path.Combine(Path.GetTempPath(), "hub-pg-tests", "template-blobs"),
        }).Build();
        return new ServiceCollection().AddLogging().AddHubData(configuration).BuildServiceProvider();
    }

    /// <summary>initdb and pg_ctl: HUB_TEST_PG_BIN, else the newest /usr/lib/postgresql/N/bin (Debian), else PATH.</summary>
    private static string? FindBinaries()
    {
        static bool Has(string dir) => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"));
        if (Environment.GetEnvironmentVariable("HUB_TEST_PG_BIN") is { Length: > 0 } env && Has(env))
            return env;
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var debian = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => Has(d.Dir)).OrderByDescending(d => d.Version).FirstOrDefault();
            if (debian.Dir is not null)
                return debian.Dir;
        }
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(Has);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<(int Code, string Output)> RunAsync(string file, IReadOnlyList<string> args, CancellationToken ct, bool check = true, bool asServer = false)
    {
        var start = new ProcessStartInfo(asServer && _runAs is not null ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _root ?? Path.GetTempPath(),
        };
        if (asServer && _runAs is not null)
        {
            foreach (var a in new[] { "-u", _runAs, "--", file })
                start.ArgumentList.Add(a);
        }
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var output = await stdout + await stderr;
        if (check && process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {output}");
        return (process.ExitCode, output);
    }
}

/// <summary>The PostgreSQL Data tests share one server and run one class after the other.</summary>
[CollectionDefinition(PostgresServer.Collection)]
public sealed class PostgresTestGroup : ICollectionFixture<PostgresServer>;
