using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hub;

/// <summary>
/// Pulls models from the hub into a models root, never leaving a half model where the registry looks: files download
/// into "{root}/.pulls/{name}/" (skipped by the registry, like every dot folder) as "{file}.incomplete", are renamed when
/// verified, and the folder is moved to "{root}/{name}" when every file is there (or, when the model is already there and
/// gains a variant, its new files are moved in, graphs last). One pull per model folder at a time: a second request for
/// the same pull joins the running job (in this process) or waits for the folder's lock file (another process). Free disk
/// space is checked before the first byte. Partial files stay for a later pull or a restart to resume.
/// </summary>
public sealed class ModelPuller(HubClient hub, ModelRegistry registry, LoadedModels loaded, IOptions<HubOptions> options, ILogger<ModelPuller> log) : IDisposable
{
    public const string StagingFolder = ".pulls";
    private const string Incomplete = ".incomplete";
    private static readonly JsonSerializerOptions StateJson = HubJson.Create();

    private readonly ConcurrentDictionary<string, PullJob> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PullJob> _active = new(StringComparer.OrdinalIgnoreCase);
    private readonly SemaphoreSlim _slots = new(Math.Max(1, options.Value.MaxConcurrentPulls));
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Lock _startLock = new();

    public HubSettings Settings => hub.Settings;

    /// <summary>The root new models go to: the first configured models root.</summary>
    public string DefaultRoot => registry.Roots.Count > 0 ? registry.Roots[0] : throw new InvalidRequestException("root", "No models root is configured (Inference:ModelRoots).");

    public IReadOnlyList<PullJob> Jobs => _jobs.Values.OrderByDescending(j => j.Created).ToList();

    public PullJob? Job(string id) => _jobs.GetValueOrDefault(id);

    /// <summary>Start a pull, or join the one already running for the same model folder with the same request.</summary>
    public PullJob Start(PullSpec spec, string? root = null)
    {
        root = Path.GetFullPath(root ?? DefaultRoot);
        var key = Path.Combine(root, spec.ModelName);
        lock (_startLock)
        {
            if (_active.TryGetValue(key, out var running))
            {
                if (running.Spec == spec) return running;
                throw new PullException(PullErrorKind.Conflict, $"{spec.ModelName} is being pulled from {running.Spec.Repo} already; wait for it or cancel it first.");
            }
            var job = new PullJob(spec, root, _shutdown.Token);
            _active[key] = job;
            _jobs[job.Id] = job;
            job.Completion = Task.Run(() => RunAsync(job, key));
            Prune();
            return job;
        }
    }

    /// <summary>Pull and wait; <paramref name="ct"/> stops the pull (partial files kept for the next one).</summary>
    public async Task<PullResult> PullAsync(PullSpec spec, string? root, CancellationToken ct, Action<PullJob>? started = null)
    {
        var job = Start(spec, root);
        started?.Invoke(job);
        await using var _ = ct.Register(() => job.Cancel(discard: false));
        return await job.Completion;
    }

    /// <summary>Cancel a job; the API's cancel deletes its partial files.</summary>
    public bool Cancel(string id, bool discard)
    {
        if (!_jobs.TryGetValue(id, out var job) || job.Completion.IsCompleted) return false;
        job.Cancel(discard);
        return true;
    }

    /// <summary>What a pull would fetch, without fetching it.</summary>
    public async Task<PullPreview> PreviewAsync(PullSpec spec, string? root, CancellationToken ct)
    {
        root = Path.GetFullPath(root ?? DefaultRoot);
        var target = Path.Combine(root, spec.ModelName);
        var plan = await PlanAsync(spec, ct);
        var states = StartStates(plan, target, Staging(root, spec.ModelName));
        var files = plan.Files.Select(f => Info(f, states)).ToList();
        return new PullPreview(plan.Repo.Repo, plan.Repo.Revision, plan.Commit, plan.Kind, OnnxVariants.Name(plan.Variant),
            plan.Variants.Select(OnnxVariants.Name).ToList(), plan.Name, target, files, plan.TotalBytes,
            files.Sum(f => f.Size - f.Done), FreeBytes(root), plan.Gated);
    }

    private static PullFileInfo Info(HubFile f, IReadOnlyDictionary<string, (PullFileStatus Status, long Done)> states)
    {
        var (status, done) = states.GetValueOrDefault(f.Path, (PullFileStatus.Pending, 0));
        return new PullFileInfo(f.Path, f.Size ?? 0, status is PullFileStatus.Present or PullFileStatus.Done ? f.Size ?? 0 : done, status, f.IsLfs);
    }

    private async Task<PullPlan> PlanAsync(PullSpec spec, CancellationToken ct)
    {
        var info = await hub.GetRepoInfoAsync(spec.Repo, ct);
        var modelType = spec.Kind is null && info.File("config.json") is not null
            ? ModelLayouts.ModelType(await hub.ReadSmallFileAsync(spec.Repo, info.Commit, "config.json", ct))
            : null;
        return PullPlanner.Plan(info, spec, modelType);
    }

    private async Task<PullResult> RunAsync(PullJob job, string key)
    {
        var ct = job.Token;
        var spec = job.Spec;
        var staging = Staging(job.Root, spec.ModelName);
        var target = Path.Combine(job.Root, spec.ModelName);
        var stateFile = staging + ".json";
        try
        {
            await _slots.WaitAsync(ct);
            try
            {
                Directory.CreateDirectory(Path.Combine(job.Root, StagingFolder));
                await using var folderLock = await LockAsync(staging + ".lock", ct);
                job.Running();
                var result = await PullLockedAsync(job, staging, target, stateFile, ct);
                job.Finish(PullStatus.Completed, null);
                log.LogInformation("Pulled {Repo} ({Variant}) into {Directory}: {Bytes} bytes in {Seconds:0.0} s", spec.Repo, result.Variant, target, result.Downloaded, result.Seconds);
                return result;
            }
            finally
            {
                _slots.Release();
            }
        }
        catch (OperationCanceledException)
        {
            job.Finish(PullStatus.Cancelled, null);
            if (job.DiscardOnCancel)
            {
                TryDelete(staging);
                TryDeleteFile(stateFile);
            }
            log.LogInformation("Pull of {Repo} cancelled{Discarded}", spec.Repo, job.DiscardOnCancel ? "; partial files deleted" : "; partial files kept");
            throw;
        }
        catch (PullException e)
        {
            job.Finish(PullStatus.Failed, e);
            TryDeleteFile(stateFile);
            log.LogWarning("Pull of {Repo} failed ({Kind}): {Error}", spec.Repo, e.Kind, e.Message);
            throw;
        }
        catch (IOException e) when (HubClient.IsDiskFull(e))
        {
            var error = new PullException(PullErrorKind.DiskFull, $"The disk is full while pulling {spec.Repo}: {e.Message}. Free some space and pull again.", e);
            job.Finish(PullStatus.Failed, error);
            TryDeleteFile(stateFile);
            throw error;
        }
        catch (Exception e)
        {
            var error = new PullException(PullErrorKind.Network, $"Pulling {spec.Repo} failed: {e.Message}", e);
            job.Finish(PullStatus.Failed, error);
            TryDeleteFile(stateFile);
            log.LogError(e, "Pull of {Repo} failed", spec.Repo);
            throw error;
        }
        finally
        {
            _active.TryRemove(new KeyValuePair<string, PullJob>(key, job));
        }
    }

    private async Task<PullResult> PullLockedAsync(PullJob job, string staging, string target, string stateFile, CancellationToken ct)
    {
        var spec = job.Spec;
        var clock = Stopwatch.StartNew();
        var existing = PullManifest.Read(target);
        if (Directory.Exists(target) && (existing is null || !string.Equals(existing.Repo, spec.Repo.Repo, StringComparison.OrdinalIgnoreCase)))
            throw new PullException(PullErrorKind.Conflict,
                $"{target} already holds {(existing is null ? "a model that was not pulled from the hub" : existing.Repo)}; pass another name (--name) or remove it first (models rm {spec.ModelName}).");
        if (hub.Settings.Offline) return Offline(spec, target, existing);

        var plan = await PlanAsync(spec, ct);
        var states = StartStates(plan, target, staging);
        job.SetPlan(plan, states);
        var pending = plan.Files.Where(f => states[f.Path].Status == PullFileStatus.Pending).ToList();
        var need = pending.Sum(f => (f.Size ?? 0) - states[f.Path].Done);
        var free = FreeBytes(job.Root);
        if (need > 0 && free - need < options.Value.ReserveBytes)
            throw new PullException(PullErrorKind.DiskFull,
                $"Not enough disk space for {spec.Repo}: {Mib(need)} more are needed and {Mib(options.Value.ReserveBytes)} must stay free (Hub:ReserveBytes), but {job.Root} has {Mib(free)} free.");

        Directory.CreateDirectory(staging);
        await File.WriteAllBytesAsync(stateFile, JsonSerializer.SerializeToUtf8Bytes(new PullState(ToRequest(spec)), StateJson), ct);
        long downloaded = 0;
        await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (file, token) =>
        {
            var final = Path.Combine(staging, file.Path);
            var partial = final + Incomplete;
            Directory.CreateDirectory(Path.GetDirectoryName(partial)!);
            job.FileStarted(file, File.Exists(partial) ? new FileInfo(partial).Length : 0);
            try
            {
                await hub.DownloadAsync(spec.Repo, plan.Commit, file, partial, n =>
                {
                    job.Add(file, n);
                    Interlocked.Add(ref downloaded, n);
                }, token);
            }
            catch (Exception) when (!token.IsCancellationRequested)
            {
                job.FileFinished(file, ok: false);
                throw;
            }
            File.Move(partial, final, overwrite: true);
            job.FileFinished(file, ok: true);
        });

        var manifest = new PullManifest(spec.Repo.Repo, spec.Repo.Revision, plan.Commit, hub.Settings.Endpoint.GetLeftPart(UriPartial.Authority), plan.Kind,
            (existing?.Variants ?? []).Append(OnnxVariants.Name(plan.Variant)).Distinct().ToList(), DateTimeOffset.UtcNow,
            (existing?.Files.Where(e => plan.Files.All(f => f.Path != e.Path)) ?? [])
                .Concat(plan.Files.Select(f => new PullManifestFile(f.Path, f.Size ?? SizeOnDisk(f.Path, staging, target), f.Sha256, f.BlobId)))
                .OrderBy(f => f.Path, StringComparer.Ordinal).ToList());
        MoveIn(staging, target, manifest);
        TryDeleteFile(stateFile);
        registry.Refresh(TimeSpan.Zero);
        var finalStates = plan.Files.Select(f => new PullFileInfo(f.Path, f.Size ?? 0, f.Size ?? 0,
            states[f.Path].Status == PullFileStatus.Present ? PullFileStatus.Present : PullFileStatus.Done, f.IsLfs)).ToList();
        return new PullResult(spec.ModelName, target, spec.Repo.Repo, spec.Repo.Revision, plan.Commit, plan.Kind, OnnxVariants.Name(plan.Variant),
            finalStates, plan.TotalBytes, downloaded, clock.Elapsed.TotalSeconds, pending.Count == 0);
    }

    /// <summary>Offline: the model must already be complete on disk, as recorded by its manifest.</summary>
    private PullResult Offline(PullSpec spec, string target, PullManifest? manifest)
    {
        var variant = spec.Variant is { } v ? OnnxVariants.Name(v) : manifest?.Variants is [var first, ..] ? first : null;
        if (manifest is null || variant is null || !manifest.Variants.Contains(variant)
            || manifest.Files.Any(f => !File.Exists(Path.Combine(target, f.Path))))
            throw new PullException(PullErrorKind.Offline,
                $"Offline mode (HF_HUB_OFFLINE / Hub:Offline) is on and {spec.Repo}{(spec.Variant is { } r ? " " + OnnxVariants.Name(r) : "")} is not complete in {target}; turn offline mode off to download it.");
        registry.Refresh(TimeSpan.Zero);
        var files = manifest.Files.Select(f => new PullFileInfo(f.Path, f.Size, f.Size, PullFileStatus.Present, f.Sha256 is not null)).ToList();
        return new PullResult(spec.ModelName, target, manifest.Repo, manifest.Revision, manifest.Commit, manifest.Kind, variant,
            files, files.Sum(f => f.Size), 0, 0, AlreadyPresent: true);
    }

    /// <summary>Each planned file's state before downloading: present in the model folder, done in staging, or pending with the bytes of its partial file.</summary>
    private static Dictionary<string, (PullFileStatus Status, long Done)> StartStates(PullPlan plan, string target, string staging)
    {
        var manifest = PullManifest.Read(target);
        var result = new Dictionary<string, (PullFileStatus, long)>(StringComparer.Ordinal);
        foreach (var f in plan.Files)
        {
            var staged = new FileInfo(Path.Combine(staging, f.Path));
            var partial = new FileInfo(staged.FullName + Incomplete);
            result[f.Path] = manifest?.Holds(target, f) == true ? (PullFileStatus.Present, f.Size ?? 0)
                : staged.Exists && staged.Length == f.Size ? (PullFileStatus.Done, f.Size ?? 0)
                : (PullFileStatus.Pending, partial.Exists ? Math.Min(partial.Length, f.Size ?? long.MaxValue) : 0);
        }
        return result;
    }

    /// <summary>
    /// Make the staged files visible: a new model folder is moved in whole; an existing one gets its new files one by one,
    /// configs first and graphs last (a variant counts only once all its graphs are there), the manifest at the very end.
    /// </summary>
    private static void MoveIn(string staging, string target, PullManifest manifest)
    {
        Directory.CreateDirectory(staging);
        if (!Directory.Exists(target))
        {
            manifest.Write(staging);
            Directory.Move(staging, target);
            return;
        }
        var files = Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(Incomplete, StringComparison.Ordinal))
            .OrderBy(f => f.EndsWith(".onnx", StringComparison.Ordinal) ? 2 : new FileInfo(f).Length > (1 << 20) ? 1 : 0)
            .ToList();
        foreach (var file in files)
        {
            var destination = Path.Combine(target, Path.GetRelativePath(staging, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Move(file, destination, overwrite: true);
        }
        manifest.Write(target);
        TryDelete(staging);
    }

    /// <summary>
    /// Delete a model folder under one of the roots (unloading it first): renamed to a dot name first, so it leaves the
    /// list at once, then removed; its staging folder goes too.
    /// </summary>
    public ModelDeleted Delete(string id)
    {
        registry.Refresh(TimeSpan.Zero);
        var model = registry.Find(id) ?? throw new ModelNotFoundException("id", $"Unknown model '{id}'. GET /v1/models lists the installed ones.");
        var root = registry.Roots.FirstOrDefault(r => Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(model.Directory)) == Path.TrimEndingDirectorySeparator(r))
            ?? throw new InvalidRequestException("id", $"Model '{id}' is not directly under a models root.");
        if (_active.ContainsKey(Path.Combine(root, model.Id)))
            throw new PullException(PullErrorKind.Conflict, $"Model '{model.Id}' is being pulled; cancel the pull first.");
        var bytes = DiskUsage(model.Directory);
        loaded.Forget(model.Id);
        var trash = Path.Combine(root, $".deleting-{model.Id}-{Guid.NewGuid():N}");
        Directory.Move(model.Directory, trash);
        TryDelete(trash);
        TryDelete(Staging(root, model.Id));
        registry.Refresh(TimeSpan.Zero);
        log.LogInformation("Deleted model {ModelId} ({Bytes} bytes) from {Directory}", model.Id, bytes, model.Directory);
        return new ModelDeleted(model.Id, model.Directory, bytes, true);
    }

    /// <summary>Bytes of every file under a folder (0 when it cannot be read).</summary>
    public static long DiskUsage(string dir)
    {
        try { return Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
    }

    /// <summary>Pulls interrupted by a shutdown (their state file is still there): started again, resuming their partial files.</summary>
    public IReadOnlyList<PullJob> ResumeInterrupted()
    {
        var resumed = new List<PullJob>();
        foreach (var root in registry.Roots)
        {
            var folder = Path.Combine(root, StagingFolder);
            if (!Directory.Exists(folder)) continue;
            foreach (var file in Directory.EnumerateFiles(folder, "*.json"))
            {
                try
                {
                    var state = JsonSerializer.Deserialize<PullState>(File.ReadAllBytes(file), StateJson);
                    if (state?.Request is null) continue;
                    var job = Start(PullSpec.From(state.Request), root);
                    log.LogInformation("Resuming the pull of {Repo} into {Root}", job.Spec.Repo, root);
                    resumed.Add(job);
                }
                catch (Exception e) when (e is IOException or JsonException or InvalidRequestException or PullException)
                {
                    log.LogWarning("Cannot resume the pull recorded in {File}: {Error}", file, e.Message);
                }
            }
        }
        return resumed;
    }

    private static ModelPullRequest ToRequest(PullSpec s) =>
        new(s.Repo.Repo, s.Repo.Revision, s.Variant is { } v ? OnnxVariants.Name(v) : null, s.Kind?.ToString().ToLowerInvariant(), s.Name);

    private static string Staging(string root, string name) => Path.Combine(root, StagingFolder, name);

    private static long FreeBytes(string root)
    {
        Directory.CreateDirectory(root);
        return new DriveInfo(Path.GetFullPath(root)).AvailableFreeSpace;
    }

    private static long SizeOnDisk(string path, string staging, string target)
    {
        var staged = new FileInfo(Path.Combine(staging, path));
        return staged.Exists ? staged.Length : new FileInfo(Path.Combine(target, path)).Length;
    }

    private static string Mib(long bytes) => $"{bytes / (1024.0 * 1024):0.#} MiB";

    /// <summary>An exclusive lock on a file (flock on Unix), waited for while another process holds it.</summary>
    private static async Task<FileStream> LockAsync(string path, CancellationToken ct)
    {
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (!ct.IsCancellationRequested) { await Task.Delay(200, ct); }
        }
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static void TryDeleteFile(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private void Prune()
    {
        foreach (var old in _jobs.Values.Where(j => j.Completion.IsCompleted).OrderByDescending(j => j.Created).Skip(options.Value.MaxFinishedJobs))
        {
            if (_jobs.TryRemove(old.Id, out var removed)) removed.Dispose();
        }
    }

    /// <summary>Shutdown: running pulls stop and keep their partial files and state, so the next start resumes them.</summary>
    public void Dispose()
    {
        _shutdown.Cancel();
        _shutdown.Dispose();
        _slots.Dispose();
    }

    private sealed record PullState(ModelPullRequest Request);
}
