using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace MultimodalHub.Inference.Hub;

/// <summary>Settings of <see cref="LocalHubServer"/>.</summary>
/// <param name="Root">Folder whose immediate sub-folders are served as repositories "{Owner}/{folder}".</param>
/// <param name="Url">Where to listen, e.g. http://127.0.0.1:0 (port 0: a free one).</param>
/// <param name="Token">When set, every request must carry "Authorization: Bearer {Token}" (a gated repository): 401 without, 403 with another.</param>
/// <param name="CdnHost">Host name the LFS redirect points to (default "localhost", another name for the loopback address, so clients see a second host, as with the hub's CDN).</param>
public sealed record LocalHubOptions(string Root, string Url = "http://127.0.0.1:0", string Owner = "local", string? Token = null, string CdnHost = "localhost");

/// <summary>Where a request went: the repository API, a file on the hub, or the CDN that LFS files are redirected to.</summary>
public enum HubRoute { Api, Resolve, Cdn }

/// <summary>A request the local hub received (for tests and the benchmark to inspect).</summary>
public sealed record HubRequestLog(HubRoute Route, string Repo, string? Path, string? Range, bool HadAuthorization);

/// <summary>A fault the local hub injects into one response body.</summary>
/// <param name="DropAfterBytes">Close the connection after this many body bytes.</param>
/// <param name="Corrupt">Serve different bytes (one flipped per chunk).</param>
/// <param name="ChunkDelay">Wait this long before each 64 KiB chunk (a slow link).</param>
public sealed record BodyFault(long? DropAfterBytes = null, bool Corrupt = false, TimeSpan? ChunkDelay = null, bool IgnoreRange = false);

/// <summary>Fault injection for <see cref="LocalHubServer"/>: a status to answer instead, or a fault in a file's body.</summary>
public interface IHubFaults
{
    /// <summary>A status code to answer with instead (404, 401, 503, ...), or null to answer normally.</summary>
    int? Status(HubRoute route, string repo, string? path);

    /// <summary>A fault for the body of a file, or null.</summary>
    BodyFault? Body(HubRoute route, string repo, string path);
}

/// <summary>
/// A Hugging Face-style hub on this machine, serving the model folders of a directory under the hub's routes:
/// <c>GET /api/models/{owner}/{name}/revision/{rev}</c> (siblings with size, git blob id and, for LFS-style files, the
/// sha256; <c>?blobs=true</c> honoured as always), <c>GET /{owner}/{name}/resolve/{rev}/{path}</c> (small files directly with
/// their git blob id as ETag; LFS-style files — .onnx, external data, weights — answered with 302 to
/// <c>http://{CdnHost}:{port}/cdn/{sha256}</c> and <c>X-Linked-Etag</c> / <c>X-Linked-Size</c>; <c>X-Repo-Commit</c> on
/// both), Range requests (206), and <c>X-Error-Code</c> on errors. Used by `models serve-hub` (a LAN mirror:
/// HF_ENDPOINT=http://host:port), the pull benchmark, and the tests (with <see cref="IHubFaults"/>).
/// </summary>
public sealed class LocalHubServer : IAsyncDisposable
{
    private const int ChunkSize = 256 * 1024;
    private readonly WebApplication _app;
    private readonly LocalHubOptions _options;
    private readonly IHubFaults? _faults;
    private readonly ConcurrentDictionary<string, string> _sha256 = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _bySha = new(StringComparer.Ordinal);

    private LocalHubServer(WebApplication app, LocalHubOptions options, IHubFaults? faults)
    {
        _app = app;
        _options = options;
        _faults = faults;
    }

    /// <summary>The hub's base URL (HF_ENDPOINT).</summary>
    public Uri Endpoint { get; private set; } = null!;

    public ConcurrentQueue<HubRequestLog> Requests { get; } = new();

    public static async Task<LocalHubServer> StartAsync(LocalHubOptions options, IHubFaults? faults = null, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new LocalHubServer(app, options, faults);
        app.MapGet("/api/models/{owner}/{name}/revision/{revision}", (string owner, string name, string revision, HttpContext http) =>
            server.RepoInfoAsync($"{owner}/{name}", revision, http));
        app.MapGet("/{owner}/{name}/resolve/{revision}/{**path}", (string owner, string name, string revision, string path, HttpContext http) =>
            server.ResolveAsync($"{owner}/{name}", revision, path, http));
        app.MapGet("/cdn/{sha256}", (string sha256, HttpContext http) => server.CdnAsync(sha256, http));
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    private string? RepoDir(string repo)
    {
        var slash = repo.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !string.Equals(repo[..slash], _options.Owner, StringComparison.Ordinal)) return null;
        var name = repo[(slash + 1)..];
        if (name.StartsWith('.') || name.Contains("..", StringComparison.Ordinal)) return null;
        var dir = Path.Combine(_options.Root, name);
        return Directory.Exists(dir) ? dir : null;
    }

    /// <summary>Files of a repository folder (relative, '/'-separated), without dot files.</summary>
    private static List<string> FilesOf(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
        .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/'))
        .Where(f => !f.Split('/').Any(part => part.StartsWith('.')))
        .Order(StringComparer.Ordinal).ToList();

    /// <summary>LFS-style files: graphs, external data and weights, as .gitattributes of real repositories track them.</summary>
    public static bool IsLfs(string path) =>
        path.EndsWith(".onnx", StringComparison.Ordinal) || path.Contains(".onnx_data", StringComparison.Ordinal) || path.EndsWith(".onnx.data", StringComparison.Ordinal)
        || path.EndsWith(".pb", StringComparison.Ordinal) || path.EndsWith(".bin", StringComparison.Ordinal) || path.EndsWith(".safetensors", StringComparison.Ordinal)
        || path.EndsWith(".png", StringComparison.Ordinal);

    /// <summary>A commit id for the folder's current content: sha1 over each file's path, size and time (40 hex digits, like git's).</summary>
    private static string CommitOf(string dir)
    {
        var text = string.Join('\n', FilesOf(dir).Select(f =>
        {
            var info = new FileInfo(Path.Combine(dir, f));
            return string.Create(CultureInfo.InvariantCulture, $"{f}:{info.Length}:{info.LastWriteTimeUtc.Ticks}");
        }));
#pragma warning disable CA5350 // a git-style commit id, not a security hash
        return Convert.ToHexStringLower(SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
#pragma warning restore CA5350
    }

    private string Sha256Of(string file)
    {
        var info = new FileInfo(file);
        var key = string.Create(CultureInfo.InvariantCulture, $"{file}:{info.Length}:{info.LastWriteTimeUtc.Ticks}");
        var sha = _sha256.GetOrAdd(key, _ =>
        {
            using var stream = File.OpenRead(file);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        });
        _bySha[sha] = file;
        return sha;
    }

    private bool Authorized(HttpContext http, string repo)
    {
        if (_options.Token is null) return true;
        var header = http.Request.Headers.Authorization.ToString();
        if (header == "Bearer " + _options.Token) return true;
        http.Response.StatusCode = header.Length == 0 ? 401 : 403;
        http.Response.Headers["X-Error-Code"] = "GatedRepo";
        http.Response.Headers["X-Error-Message"] = $"Access to model {repo} is restricted.";
        return false;
    }

    private bool Faulted(HttpContext http, HubRoute route, string repo, string? path)
    {
        if (_faults?.Status(route, repo, path) is not { } status) return false;
        http.Response.StatusCode = status;
        if (status == 404) http.Response.Headers["X-Error-Code"] = path is null ? "RepoNotFound" : "EntryNotFound";
        if (status is 401 or 403) http.Response.Headers["X-Error-Code"] = "GatedRepo";
        return true;
    }

    private void Log(HttpContext http, HubRoute route, string repo, string? path) =>
        Requests.Enqueue(new HubRequestLog(route, repo, path, http.Request.Headers.Range.ToString() is { Length: > 0 } r ? r : null, http.Request.Headers.Authorization.Count > 0));

    private async Task RepoInfoAsync(string repo, string revision, HttpContext http)
    {
        Log(http, HubRoute.Api, repo, null);
        if (Faulted(http, HubRoute.Api, repo, null)) return;
        var dir = RepoDir(repo);
        if (dir is null) { NotFound(http, "RepoNotFound", $"Repository {repo} not found"); return; }
        if (!Authorized(http, repo)) return;
        var commit = CommitOf(dir);
        if (revision != "main" && revision != commit) { NotFound(http, "RevisionNotFound", $"Invalid rev id: {revision}"); return; }
        var siblings = new JsonArray();
        foreach (var f in FilesOf(dir))
        {
            var full = Path.Combine(dir, f);
            var size = new FileInfo(full).Length;
            var entry = new JsonObject { ["rfilename"] = f, ["size"] = size };
            if (IsLfs(f))
            {
                var sha = Sha256Of(full);
                entry["blobId"] = GitPointerId(sha, size);
                entry["lfs"] = new JsonObject { ["sha256"] = sha, ["size"] = size, ["pointerSize"] = Pointer(sha, size).Length };
            }
            else entry["blobId"] = BlobIdOf(full);
            siblings.Add(entry);
        }
        var body = new JsonObject
        {
            ["_id"] = commit[..24],
            ["id"] = repo,
            ["modelId"] = repo,
            ["sha"] = commit,
            ["private"] = false,
            ["gated"] = _options.Token is null ? false : "manual",
            ["siblings"] = siblings,
        };
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString(), http.RequestAborted);
    }

    private async Task ResolveAsync(string repo, string revision, string path, HttpContext http)
    {
        Log(http, HubRoute.Resolve, repo, path);
        if (Faulted(http, HubRoute.Resolve, repo, path)) return;
        var dir = RepoDir(repo);
        if (dir is null) { NotFound(http, "RepoNotFound", $"Repository {repo} not found"); return; }
        if (!Authorized(http, repo)) return;
        var commit = CommitOf(dir);
        if (revision != "main" && revision != commit) { NotFound(http, "RevisionNotFound", $"Invalid rev id: {revision}"); return; }
        var full = Path.GetFullPath(Path.Combine(dir, path));
        if (!full.StartsWith(Path.GetFullPath(dir) + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(full)
            || path.Split('/').Any(p => p.StartsWith('.')))
        {
            NotFound(http, "EntryNotFound", $"{path} does not exist on \"{revision}\"");
            return;
        }
        http.Response.Headers["X-Repo-Commit"] = commit;
        if (IsLfs(path))
        {
            var sha = Sha256Of(full);
            var size = new FileInfo(full).Length;
            http.Response.Headers["X-Linked-Etag"] = $"\"{sha}\"";
            http.Response.Headers["X-Linked-Size"] = size.ToString(CultureInfo.InvariantCulture);
            http.Response.Headers.ETag = $"\"{GitPointerId(sha, size)}\"";
            var cdn = new UriBuilder(Endpoint) { Host = _options.CdnHost, Path = $"cdn/{sha}", Query = $"repo={Uri.EscapeDataString(repo)}&path={Uri.EscapeDataString(path)}" };
            http.Response.StatusCode = StatusCodes.Status302Found;
            http.Response.Headers.Location = cdn.Uri.ToString();
            return;
        }
        http.Response.Headers.ETag = $"\"{BlobIdOf(full)}\"";
        await ServeAsync(http, full, _faults?.Body(HubRoute.Resolve, repo, path));
    }

    private async Task CdnAsync(string sha256, HttpContext http)
    {
        var repo = http.Request.Query["repo"].ToString();
        var path = http.Request.Query["path"].ToString();
        Log(http, HubRoute.Cdn, repo, path);
        if (Faulted(http, HubRoute.Cdn, repo, path)) return;
        if (!_bySha.TryGetValue(sha256, out var file) || !File.Exists(file)) { http.Response.StatusCode = 404; return; }
        http.Response.Headers.ETag = $"\"{sha256}\"";
        await ServeAsync(http, file, _faults?.Body(HubRoute.Cdn, repo, path));
    }

    /// <summary>The file's bytes, from the Range's start when one is asked (206), with the injected fault if any.</summary>
    private static async Task ServeAsync(HttpContext http, string file, BodyFault? fault)
    {
        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, ChunkSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var length = stream.Length;
        long start = 0;
        http.Response.Headers.AcceptRanges = "bytes";
        if (fault?.IgnoreRange != true && RangeStart(http.Request.Headers.Range.ToString()) is { } from)
        {
            if (from >= length)
            {
                http.Response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                http.Response.Headers.ContentRange = $"bytes */{length}";
                return;
            }
            start = from;
            http.Response.StatusCode = StatusCodes.Status206PartialContent;
            http.Response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {from}-{length - 1}/{length}");
        }
        http.Response.ContentLength = length - start;
        http.Response.ContentType = "application/octet-stream";
        stream.Seek(start, SeekOrigin.Begin);
        var buffer = new byte[ChunkSize];
        long sent = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer, http.RequestAborted)) > 0)
        {
            if (fault?.ChunkDelay is { } delay) await Task.Delay(delay, http.RequestAborted);
            if (fault?.DropAfterBytes is { } drop && sent + n >= drop)
            {
                var part = (int)Math.Max(0, drop - sent);
                if (part > 0) await http.Response.Body.WriteAsync(buffer.AsMemory(0, part), http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
                http.Abort();
                return;
            }
            if (fault?.Corrupt == true) buffer[n / 2] ^= 0x5A;
            await http.Response.Body.WriteAsync(buffer.AsMemory(0, n), http.RequestAborted);
            sent += n;
        }
    }

    private static long? RangeStart(string range)
    {
        if (!range.StartsWith("bytes=", StringComparison.Ordinal)) return null;
        var spec = range["bytes=".Length..];
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && long.TryParse(spec[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var from) ? from : null;
    }

    private static void NotFound(HttpContext http, string code, string message)
    {
        http.Response.StatusCode = 404;
        http.Response.Headers["X-Error-Code"] = code;
        http.Response.Headers["X-Error-Message"] = message;
    }

    private static string BlobIdOf(string file) => HubClient.GitBlobId(file);

    /// <summary>The text of the LFS pointer file git stores for an LFS object.</summary>
    private static string Pointer(string sha256, long size) =>
        string.Create(CultureInfo.InvariantCulture, $"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n");

    /// <summary>The git blob id of an LFS file is that of its pointer.</summary>
    private static string GitPointerId(string sha256, long size)
    {
        var pointer = System.Text.Encoding.ASCII.GetBytes(Pointer(sha256, size));
        var header = System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {pointer.Length}\0"));
#pragma warning disable CA5350 // git object ids are SHA-1 by definition
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. pointer]));
#pragma warning restore CA5350
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
