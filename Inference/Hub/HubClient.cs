using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Polly;
using Polly.Retry;

namespace MultimodalHub.Inference.Hub;

/// <summary>
/// The Hugging Face Hub's HTTP API as its own client (huggingface_hub) uses it: repository info with the file list and
/// commit from <c>GET /api/models/{repo}/revision/{rev}?blobs=true</c>, files from <c>GET /{repo}/resolve/{commit}/{path}</c>
/// following redirects (the hub answers LFS files with a redirect to its CDN; the bearer token is not sent to another
/// host), <c>Range</c> to resume, the <c>X-Repo-Commit</c> / <c>X-Linked-Etag</c> / <c>X-Linked-Size</c> / <c>ETag</c>
/// headers, and the <c>X-Error-Code</c> the hub sets on errors (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo).
/// A dropped connection or a 5xx/429 is retried (Polly, exponential back-off with jitter), each attempt resuming where
/// the partial file ends; LFS files are checked against their sha256 and other files against their git blob id.
/// </summary>
public sealed class HubClient(HttpClient http, HubSettings settings, ILogger<HubClient> log)
{
    public const string HttpClientName = "hub";
    private const int BufferSize = 1 << 20;
    private const int MaxRedirects = 10;

    public HubSettings Settings => settings;

    /// <summary>The repository's files at a revision (a branch, tag or commit), resolved to the commit.</summary>
    public async Task<HubRepoInfo> GetRepoInfoAsync(HubRepoRef repo, CancellationToken ct)
    {
        EnsureOnline(repo);
        var url = new Uri(settings.Endpoint, $"api/models/{repo.Repo}/revision/{Uri.EscapeDataString(repo.Revision)}?blobs=true");
        return await Retry(repo.ToString()).ExecuteAsync(async token =>
        {
            using var response = await SendAsync(url, 0, HttpCompletionOption.ResponseContentRead, token);
            ThrowIfFailed(response.Response, repo, null);
            await using var body = await response.Response.Content.ReadAsStreamAsync(token);
            using var doc = await JsonDocument.ParseAsync(body, cancellationToken: token);
            return ParseInfo(repo, doc.RootElement);
        }, ct);
    }

    internal static HubRepoInfo ParseInfo(HubRepoRef repo, JsonElement root)
    {
        var commit = root.TryGetProperty("sha", out var sha) && sha.ValueKind == JsonValueKind.String ? sha.GetString()! : repo.Revision;
        var files = new List<HubFile>();
        if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
        {
            foreach (var s in siblings.EnumerateArray())
            {
                if (!s.TryGetProperty("rfilename", out var name) || name.GetString() is not { Length: > 0 } path) continue;
                long? size = s.TryGetProperty("size", out var sz) && sz.ValueKind == JsonValueKind.Number ? sz.GetInt64() : null;
                string? sha256 = null;
                if (s.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                {
                    sha256 = lfs.TryGetProperty("sha256", out var h) ? h.GetString() : null;
                    if (lfs.TryGetProperty("size", out var ls) && ls.ValueKind == JsonValueKind.Number) size = ls.GetInt64();
                }
                var blob = s.TryGetProperty("blobId", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
                files.Add(new HubFile(path, size, sha256?.ToLowerInvariant(), blob?.ToLowerInvariant()));
            }
        }
        var gated = root.TryGetProperty("gated", out var g) ? g.ValueKind switch
        {
            JsonValueKind.String => g.GetString(),
            JsonValueKind.True => "true",
            _ => null,
        } : null;
        return new HubRepoInfo(repo.Repo, commit, files, gated);
    }

    /// <summary>A small file's bytes (config.json, read to recognise a model's kind before pulling).</summary>
    public async Task<byte[]> ReadSmallFileAsync(HubRepoRef repo, string commit, string path, CancellationToken ct)
    {
        EnsureOnline(repo);
        return await Retry(path).ExecuteAsync(async token =>
        {
            using var response = await SendAsync(ResolveUrl(repo.Repo, commit, path), 0, HttpCompletionOption.ResponseContentRead, token);
            ThrowIfFailed(response.Response, repo, path);
            return await response.Response.Content.ReadAsByteArrayAsync(token);
        }, ct);
    }

    public Uri ResolveUrl(string repo, string commit, string path) =>
        new(settings.Endpoint, $"{repo}/resolve/{Uri.EscapeDataString(commit)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>
    /// Download one file to <paramref name="partialPath"/>, resuming what is already there, retrying dropped connections,
    /// and verify it (size; sha256 for LFS files, the git blob id for others). On a mismatch the partial file is deleted
    /// and a <see cref="PullErrorKind.Checksum"/> error thrown. <paramref name="progress"/> receives the bytes written.
    /// </summary>
    public async Task DownloadAsync(HubRepoRef repo, string commit, HubFile file, string partialPath, Action<long> progress, CancellationToken ct)
    {
        EnsureOnline(repo);
        var state = new DownloadState(file, partialPath);
        try
        {
            await Retry(file.Path).ExecuteAsync(async token => await AttemptAsync(repo, commit, state, progress, token), ct);
            Verify(state, file, partialPath);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException or TransientHubException && !ct.IsCancellationRequested)
        {
            var have = File.Exists(partialPath) ? new FileInfo(partialPath).Length : 0;
            throw new PullException(PullErrorKind.Network,
                $"Downloading {file.Path} from {settings.Endpoint.Host} failed after {settings.Options.Retries + 1} attempts at {have:N0} of {(file.Size ?? state.Size)?.ToString("N0", CultureInfo.InvariantCulture) ?? "?"} bytes ({e.Message}); run the pull again to resume.", e);
        }
        finally
        {
            state.Dispose();
        }
    }

    private async Task AttemptAsync(HubRepoRef repo, string commit, DownloadState state, Action<long> progress, CancellationToken ct)
    {
        var offset = File.Exists(state.Path) ? new FileInfo(state.Path).Length : 0;
        if (state.Size is { } known && offset > known) { File.Delete(state.Path); offset = 0; }
        if (state.Size is { } done && offset == done && done > 0)
        {
            state.CatchUp(offset);
            return;
        }
        using var sent = await SendAsync(ResolveUrl(repo.Repo, commit, state.File.Path), offset, HttpCompletionOption.ResponseHeadersRead, ct);
        var response = sent.Response;
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && offset > 0)
        {
            // The partial file is not a prefix the server knows (longer than the file): start over on the next attempt.
            File.Delete(state.Path);
            throw new IOException($"the server refused to resume {state.File.Path} at byte {offset}");
        }
        ThrowIfFailed(response, repo, state.File.Path);
        sent.CheckCommit(commit, state.File.Path);
        state.Expect(sent.LinkedEtag, sent.LinkedSize ?? (response.StatusCode == HttpStatusCode.OK ? response.Content.Headers.ContentLength : response.Content.Headers.ContentRange?.Length));
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            if (response.Content.Headers.ContentRange?.From is { } from && from != offset)
                throw new IOException($"the server resumed {state.File.Path} at byte {from}, not {offset}");
        }
        else offset = 0; // 200: the whole file (the server ignored Range)
        state.CatchUp(offset);

        byte[][] buffers = [ArrayPool<byte>.Shared.Rent(BufferSize), ArrayPool<byte>.Shared.Rent(BufferSize)];
        try
        {
            await CopyAsync(response, state, offset, buffers, progress, ct);
        }
        catch (IOException e) when (IsDiskFull(e))
        {
            throw DiskFull(state.Path, e);
        }
        finally
        {
            foreach (var b in buffers) ArrayPool<byte>.Shared.Return(b);
        }
        var length = new FileInfo(state.Path).Length;
        if (state.Size is { } size && length < size)
            throw new IOException($"the connection closed at byte {length:N0} of {size:N0}");
    }

    /// <summary>The response body appended to the partial file (hashed on the way), with a timeout on each read. Two
    /// buffers: the next chunk is read from the network while the one before is hashed and written.</summary>
    private async Task CopyAsync(HttpResponseMessage response, DownloadState state, long offset, byte[][] buffers, Action<long> progress, CancellationToken ct)
    {
        await using var output = new FileStream(state.Path, offset == 0 ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pending = Task.CompletedTask;
        try
        {
            for (var i = 0; ; i ^= 1)
            {
                var n = await ReadChunkAsync(body, buffers[i], stall, ct);
                await pending;
                if (n == 0) break;
                var chunk = buffers[i].AsMemory(0, n);
                pending = Task.Run(async () =>
                {
                    state.Hash(chunk.Span);
                    await output.WriteAsync(chunk, ct);
                    progress(chunk.Length);
                }, ct);
            }
            await output.FlushAsync(ct);
        }
        finally
        {
            // On a failed read the write in flight must end before the file is closed (its own error is the lesser one).
            await pending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task<int> ReadChunkAsync(Stream body, byte[] buffer, CancellationTokenSource stall, CancellationToken ct)
    {
        stall.CancelAfter(settings.Options.ReadTimeout);
        try
        {
            return await body.ReadAsync(buffer.AsMemory(0, BufferSize), stall.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"no data for {settings.Options.ReadTimeout.TotalSeconds:0} s");
        }
    }

    internal static PullException DiskFull(string path, IOException e)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        return new PullException(PullErrorKind.DiskFull, $"The disk is full: writing {Path.GetFileName(path)} failed ({e.Message}); the partial file was deleted. Free some space and pull again.", e);
    }

    /// <summary>ENOSPC (28) / EDQUOT (122) on Unix, ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.</summary>
    internal static bool IsDiskFull(IOException e) => (e.HResult & 0xFFFF) is 28 or 122 or 0x70 or 0x27;

    private static void Verify(DownloadState state, HubFile file, string path)
    {
        var length = new FileInfo(path).Length;
        string? problem = null;
        var size = file.Size ?? state.Size;
        if (size is { } expected && length != expected) problem = $"it has {length:N0} bytes, the hub says {expected:N0}";
        else if ((file.Sha256 ?? state.LinkedSha256) is { } sha256)
        {
            var actual = state.FinishSha256(path);
            if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase)) problem = $"its sha256 is {actual}, the hub says {sha256}";
        }
        else if ((file.BlobId ?? state.EtagBlobId) is { } blob)
        {
            var actual = GitBlobId(path);
            if (!string.Equals(actual, blob, StringComparison.OrdinalIgnoreCase)) problem = $"its git blob id is {actual}, the hub says {blob}";
        }
        if (problem is null) return;
        File.Delete(path);
        throw new PullException(PullErrorKind.Checksum, $"{file.Path} arrived corrupt: {problem}. The file was deleted; pull again to retry.");
    }

    /// <summary>Git's object id of a file: sha1 of "blob {length}\0" followed by the content (how the hub names non-LFS files).</summary>
    internal static string GitBlobId(string path)
    {
        using var stream = File.OpenRead(path);
#pragma warning disable CA5350 // git object ids are SHA-1 by definition; this checks integrity against the hub's id, not security
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
#pragma warning restore CA5350
        sha1.AppendData(Encoding.ASCII.GetBytes($"blob {stream.Length.ToString(CultureInfo.InvariantCulture)}\0"));
        var buffer = new byte[81920];
        int n;
        while ((n = stream.Read(buffer)) > 0) sha1.AppendData(buffer, 0, n);
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    private void EnsureOnline(HubRepoRef repo)
    {
        if (settings.Offline)
            throw new PullException(PullErrorKind.Offline, $"Offline mode (HF_HUB_OFFLINE / Hub:Offline) is on and {repo} is not on disk; turn it off to download.");
    }

    private ResiliencePipeline Retry(string what) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>().Handle<TimeoutException>()
                .Handle<IOException>(e => !IsDiskFull(e)).Handle<TransientHubException>(),
            MaxRetryAttempts = Math.Max(0, settings.Options.Retries),
            Delay = settings.Options.RetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            OnRetry = a =>
            {
                log.LogWarning("Hub request for {What} failed ({Error}); attempt {Attempt} in {Delay}", what, a.Outcome.Exception?.Message, a.AttemptNumber + 2, a.RetryDelay);
                return ValueTask.CompletedTask;
            },
        })
        .Build();

    /// <summary>GET, following up to 10 redirects by hand so the hub's own headers are seen and the token stays with the hub's host.</summary>
    private async Task<SentRequest> SendAsync(Uri url, long offset, HttpCompletionOption completion, CancellationToken ct)
    {
        var result = new SentRequest();
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            request.Headers.UserAgent.ParseAdd("MultimodalHub/1.0");
            if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
            if (settings.Token is { } token && url.Host == settings.Endpoint.Host && url.Port == settings.Endpoint.Port)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var headers = CancellationTokenSource.CreateLinkedTokenSource(ct);
            headers.CancelAfter(settings.Options.ReadTimeout);
            HttpResponseMessage response;
            try { response = await http.SendAsync(request, completion, headers.Token); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"{url.Host} did not answer within {settings.Options.ReadTimeout.TotalSeconds:0} s");
            }
            result.Take(response);
            var status = (int)response.StatusCode;
            if (status is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
            {
                if (hop >= MaxRedirects) throw new HttpRequestException($"more than {MaxRedirects} redirects from {url.Host}");
                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                response.Dispose();
                continue;
            }
            result.Response = response;
            return result;
        }
    }

    private void ThrowIfFailed(HttpResponseMessage response, HubRepoRef repo, string? path)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300) return;
        var code = response.Headers.TryGetValues("X-Error-Code", out var c) ? c.FirstOrDefault() : null;
        var detail = response.Headers.TryGetValues("X-Error-Message", out var m) ? $" ({m.FirstOrDefault()})" : "";
        var where = settings.Endpoint.GetLeftPart(UriPartial.Authority);
        var tokenHint = settings.HasToken ? "the token in use (HF_TOKEN) has no access to it" : "set HF_TOKEN to a token that has access";
        throw (code, status) switch
        {
            ("GatedRepo", _) or (_, 403) => new PullException(PullErrorKind.Unauthorized,
                $"{repo.Repo} is gated or private on {where}: accept its terms at {where}/{repo.Repo} and {tokenHint}{detail}."),
            ("RevisionNotFound", _) => new PullException(PullErrorKind.NotFound, $"Revision '{repo.Revision}' was not found in {repo.Repo} on {where}{detail}."),
            ("EntryNotFound", _) => new PullException(PullErrorKind.NotFound, $"{path} was not found in {repo} on {where}{detail}."),
            ("RepoNotFound", _) or (_, 401) when !settings.HasToken => new PullException(status == 401 ? PullErrorKind.Unauthorized : PullErrorKind.NotFound,
                $"Repository {repo.Repo} was not found on {where}, or it is private or gated: check the id, or {tokenHint}{detail}."),
            (_, 401) => new PullException(PullErrorKind.Unauthorized, $"{where} refused the token for {repo.Repo} (401): {tokenHint}{detail}."),
            ("RepoNotFound", _) or (_, 404) => new PullException(PullErrorKind.NotFound,
                path is null ? $"Repository {repo.Repo} was not found on {where}{detail}." : $"{path} was not found in {repo} on {where}{detail}."),
            (_, 408 or 429 or >= 500) => new TransientHubException($"{where} answered {status} for {path ?? repo.ToString()}"),
            _ => new PullException(PullErrorKind.Network, $"{where} answered {status} {response.ReasonPhrase} for {path ?? repo.ToString()}{detail}."),
        };
    }

    /// <summary>A 5xx, 408 or 429 answer: retried.</summary>
    private sealed class TransientHubException(string message) : Exception(message);

    /// <summary>The final response of a request and the hub's headers seen on the way (the first hop carries them).</summary>
    private sealed class SentRequest : IDisposable
    {
        public HttpResponseMessage Response { get; set; } = null!;

        public string? RepoCommit { get; private set; }

        public string? LinkedEtag { get; private set; }

        public long? LinkedSize { get; private set; }

        public void Take(HttpResponseMessage r)
        {
            RepoCommit ??= Header(r, "X-Repo-Commit");
            LinkedEtag ??= Header(r, "X-Linked-Etag") ?? r.Headers.ETag?.Tag;
            if (LinkedSize is null && long.TryParse(Header(r, "X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out var size)) LinkedSize = size;
        }

        public void CheckCommit(string commit, string path)
        {
            if (RepoCommit is { Length: > 0 } c && commit.Length == 40 && !string.Equals(c, commit, StringComparison.OrdinalIgnoreCase))
                throw new PullException(PullErrorKind.Checksum, $"The hub served {path} from commit {c}, not {commit}.");
        }

        private static string? Header(HttpResponseMessage r, string name) => r.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault() : null;

        public void Dispose() => Response?.Dispose();
    }

    /// <summary>What one file's download knows across attempts: its size and hashes, and the sha256 of the bytes written so far.</summary>
    private sealed class DownloadState(HubFile file, string path) : IDisposable
    {
        private IncrementalHash? _sha256;
        private long _hashed;

        public HubFile File { get; } = file;

        public string Path { get; } = path;

        public long? Size { get; private set; } = file.Size;

        public string? LinkedSha256 { get; private set; }

        public string? EtagBlobId { get; private set; }

        public void Expect(string? etag, long? size)
        {
            Size ??= size;
            var tag = etag?.Trim().TrimStart('W', '/').Trim('"').ToLowerInvariant();
            if (tag is { Length: 64 } && tag.All(char.IsAsciiHexDigit)) LinkedSha256 ??= tag;
            else if (tag is { Length: 40 } && tag.All(char.IsAsciiHexDigit)) EtagBlobId ??= tag;
        }

        private bool WantsSha256 => File.Sha256 is not null || LinkedSha256 is not null;

        /// <summary>Bring the running sha256 to the first <paramref name="offset"/> bytes of the partial file (rehashing it after a restart or a resume).</summary>
        public void CatchUp(long offset, bool force = false)
        {
            if (!WantsSha256 && !force) return;
            if (_sha256 is not null && _hashed == offset) return;
            _sha256?.Dispose();
            _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            _hashed = 0;
            if (offset == 0) return;
            using var existing = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, BufferSize);
            var buffer = new byte[BufferSize];
            while (_hashed < offset)
            {
                var n = existing.Read(buffer, 0, (int)Math.Min(buffer.Length, offset - _hashed));
                if (n == 0) break;
                _sha256.AppendData(buffer, 0, n);
                _hashed += n;
            }
        }

        public void Hash(ReadOnlySpan<byte> data)
        {
            if (_sha256 is null) return;
            _sha256.AppendData(data);
            _hashed += data.Length;
        }

        /// <summary>The sha256 of the whole file: the running hash when it covers it, else computed from disk.</summary>
        public string FinishSha256(string path)
        {
            var length = new FileInfo(path).Length;
            if (_sha256 is null || _hashed != length) CatchUp(length, force: true);
            return Convert.ToHexStringLower(_sha256!.GetHashAndReset());
        }

        public void Dispose() => _sha256?.Dispose();
    }
}
