using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace MultimodalHub.Inference.Runtime;

/// <summary>
/// The models in memory: each engine loads its model object (sessions, tokenizer, configs) once, lazily, through
/// <see cref="AcquireAsync{T}"/>; callers hold a lease while they run it, and models with no lease for
/// <see cref="InferenceOptions.IdleUnload"/> are disposed by <see cref="IdleUnloader"/>. Thread-safe: ONNX Runtime
/// sessions may be run concurrently, so one loaded model serves every request.
/// </summary>
/// <param name="sessions">When given, the sessions a load creates use the model's runtime settings and their providers are recorded.</param>
/// <param name="warmUps">The engines' warm-up runs, one per model type, run after each load when the model's WarmUp setting is on.</param>
public sealed class LoadedModels(IOptions<InferenceOptions> options, HubMetrics metrics, ILogger<LoadedModels> log, OrtSessionFactory? sessions = null,
    IEnumerable<IWarmUp>? warmUps = null) : IDisposable
{
    private readonly IReadOnlyList<IWarmUp> _warmUps = warmUps?.ToList() ?? [];

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, ModelLoadException Error)> _failures = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider _clock = TimeProvider.System;

    /// <summary>How long a failed load is answered from memory before the files are tried again.</summary>
    public static readonly TimeSpan RetryFailedLoadAfter = TimeSpan.FromSeconds(10);

    public bool IsLoaded(string modelId) =>
        _entries.TryGetValue(modelId, out var e) && e.Loaded;

    /// <summary>How a loaded model was loaded (when, how long, on which providers, pinned), or null when it is not in memory.</summary>
    public LoadedModelState? StateOf(string modelId)
    {
        if (!_entries.TryGetValue(modelId, out var e) || !e.Loaded) return null;
        lock (e) return e.Loading.Result.State with { Pinned = e.Pinned, ActiveLeases = e.Leases };
    }

    /// <summary>Get the loaded model, loading it with <paramref name="load"/> on first use. Dispose the lease when done.</summary>
    public async Task<ModelLease<T>> AcquireAsync<T>(ModelDescriptor model, Func<ModelDescriptor, T> load, CancellationToken ct)
        where T : class, IDisposable
    {
        while (true)
        {
            // A broken model is not reloaded on every request: its failure is repeated for a while, then the files are tried again.
            if (_failures.TryGetValue(model.Id, out var failed) && _clock.GetUtcNow() - failed.At < RetryFailedLoadAfter) throw failed.Error;
            var entry = _entries.GetOrAdd(model.Id, _ => new Entry(() => Task.Run(() => Load(model, load))));
            IDisposable value;
            try
            {
                value = (await entry.Loading.WaitAsync(ct)).Value;
            }
            catch (Exception)
            {
                // A failed load leaves no entry behind, also when this caller stopped waiting (cancelled) before it failed.
                if (entry.Loading.IsFaulted || entry.Loading.IsCanceled) _entries.TryRemove(new KeyValuePair<string, Entry>(model.Id, entry));
                else if (!entry.Loading.IsCompleted)
                    _ = entry.Loading.ContinueWith(_ => _entries.TryRemove(new KeyValuePair<string, Entry>(model.Id, entry)), CancellationToken.None,
                        TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                throw;
            }
            lock (entry)
            {
                if (entry.Disposed)
                {
                    // Unloaded or forgotten between lookup and lease (also while it was still loading): nobody can
                    // lease this instance any more, so the one that finished loading is disposed here; load again.
                    if (entry.Leases == 0 && entry.DisposeValue()) metrics.ModelUnloaded(model.Id);
                    continue;
                }
                entry.Leases++;
                entry.LastUsed = _clock.GetUtcNow();
            }
            return new ModelLease<T>((T)value, () => Release(entry));
        }
    }

    private Loaded Load<T>(ModelDescriptor model, Func<ModelDescriptor, T> load) where T : class, IDisposable
    {
        var sw = Stopwatch.StartNew();
        log.LogInformation("Loading model {ModelId} ({Kind})", model.Id, model.Kind);
        try
        {
            T value;
            IReadOnlyList<string> providers;
            TimeSpan loadTime;
            TimeSpan? warmUpTime;
            using (var scope = sessions?.BeginModel(model.Id))
            {
                value = load(model);
                loadTime = sw.Elapsed;
                warmUpTime = WarmUp(model, value);
                providers = scope?.Providers ?? [];
            }
            _failures.TryRemove(model.Id, out _);
            metrics.ModelLoaded(model.Id, model.Kind, loadTime);
            log.LogInformation("Loaded model {ModelId} in {ElapsedMs} ms on {Providers} (warm-up {WarmUpMs} ms)", model.Id,
                (long)loadTime.TotalMilliseconds, string.Join("+", providers), warmUpTime is { } w ? (long)w.TotalMilliseconds : null);
            return new Loaded(value, new LoadedModelState(_clock.GetUtcNow(), loadTime, warmUpTime, providers, false, 0));
        }
        catch (Exception e)
        {
            metrics.ModelLoadFailed(model.Id, model.Kind);
            log.LogError(e, "Loading model {ModelId} failed", model.Id);
            // Corrupt or incompatible files (ONNX Runtime, config readers): a 503 naming the model, not an opaque 500.
            // Only the reason of our own format checks is passed on; runtime messages carry server paths.
            var reason = e is InvalidDataException or FormatException or System.Text.Json.JsonException ? e.Message : "its files could not be loaded by the runtime";
            var error = new ModelLoadException(model.Id, $"Model '{model.Id}' could not be loaded: {reason} See the service log.", e);
            _failures[model.Id] = (_clock.GetUtcNow(), error);
            throw error;
        }
    }

    /// <summary>The engine's warm-up run, when the model's settings ask for one; a failed warm-up is logged and the model stays loaded.</summary>
    private TimeSpan? WarmUp(ModelDescriptor model, object value)
    {
        if (!options.Value.RuntimeFor(model.Id).WarmUp) return null;
        var warmUp = _warmUps.FirstOrDefault(w => w.ModelType.IsInstanceOfType(value));
        if (warmUp is null) return null;
        var sw = Stopwatch.StartNew();
        try
        {
            warmUp.Run(value, CancellationToken.None);
            return sw.Elapsed;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.LogWarning(e, "The warm-up run of model {ModelId} failed; the model stays loaded and its first request does the first-run work", model.Id);
            return null;
        }
    }

    private void Release(Entry entry)
    {
        bool dispose;
        lock (entry)
        {
            entry.Leases--;
            entry.LastUsed = _clock.GetUtcNow();
            // Forgotten (Forget) while this lease was out: the last lease disposes it.
            dispose = entry.Disposed && entry.Leases == 0;
        }
        if (dispose) entry.DisposeValue();
    }

    /// <summary>Dispose the models idle for longer than the configured time (pinned ones stay); returns how many.</summary>
    public int UnloadIdle()
    {
        var idle = options.Value.IdleUnload;
        if (idle <= TimeSpan.Zero) return 0;
        var now = _clock.GetUtcNow();
        var count = 0;
        foreach (var (id, entry) in _entries)
        {
            if (TryUnload(id, entry, e => !e.Pinned && now - e.LastUsed >= idle) != UnloadResult.Unloaded) continue;
            log.LogInformation("Unloaded model {ModelId} after {Idle} idle", id, idle);
            count++;
        }
        return count;
    }

    /// <summary>Unload one model now (also a pinned one), unless a request is using it.</summary>
    public UnloadResult Unload(string modelId)
    {
        if (!_entries.TryGetValue(modelId, out var entry)) return UnloadResult.NotLoaded;
        var result = TryUnload(modelId, entry, _ => true);
        if (result == UnloadResult.Unloaded) log.LogInformation("Unloaded model {ModelId} on request", modelId);
        return result;
    }

    /// <summary>Keep a loaded model in memory however long it is idle (true), or let it be unloaded when idle again (false). False when it is not loaded.</summary>
    public bool Pin(string modelId, bool pinned)
    {
        if (!_entries.TryGetValue(modelId, out var entry) || !entry.Loaded) return false;
        lock (entry)
        {
            if (entry.Disposed) return false;
            entry.Pinned = pinned;
        }
        return true;
    }

    private UnloadResult TryUnload(string id, Entry entry, Func<Entry, bool> when)
    {
        if (!entry.Loaded) return UnloadResult.NotLoaded;
        lock (entry)
        {
            if (entry.Disposed) return UnloadResult.NotLoaded;
            if (entry.Leases > 0) return UnloadResult.InUse;
            if (!when(entry)) return UnloadResult.Kept;
            entry.Disposed = true;
        }
        _entries.TryRemove(new KeyValuePair<string, Entry>(id, entry));
        entry.DisposeValue();
        metrics.ModelUnloaded(id);
        return UnloadResult.Unloaded;
    }

    /// <summary>
    /// Forget a model (it is being deleted): later requests load it afresh; a loaded instance is disposed once no request
    /// holds it (at once when none does, else by the idle unloader). Returns whether it was loaded.
    /// </summary>
    public bool Forget(string modelId)
    {
        _failures.TryRemove(modelId, out _);
        if (!_entries.TryRemove(modelId, out var entry)) return false;
        bool dispose;
        lock (entry)
        {
            entry.Disposed = true;
            dispose = entry.Leases == 0 && entry.Loaded;
        }
        if (dispose)
        {
            entry.DisposeValue();
            metrics.ModelUnloaded(modelId);
        }
        else if (entry.Started && !entry.Loading.IsCompleted)
        {
            // Forgotten while loading: the load's result is disposed once it is there (no lease can be taken any more),
            // also when every caller waiting for it has given up.
            _ = entry.Loading.ContinueWith(_ => { if (entry.DisposeValue()) metrics.ModelUnloaded(modelId); }, CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        log.LogInformation("Unloaded model {ModelId} (removed)", modelId);
        return true;
    }

    public void Dispose()
    {
        foreach (var entry in _entries.Values)
            if (entry.Loaded) entry.DisposeValue();
        _entries.Clear();
    }

    private sealed record Loaded(IDisposable Value, LoadedModelState State);

    private sealed class Entry(Func<Task<Loaded>> startLoading)
    {
        // Started on first use, so only the entry that won GetOrAdd loads: ConcurrentDictionary may run the value
        // factory for racing callers too, and a load started there would build sessions nobody ever disposes.
        private readonly Lazy<Task<Loaded>> _loading = new(startLoading);
        private int _valueDisposed;
        public Task<Loaded> Loading => _loading.Value;
        public bool Started => _loading.IsValueCreated;
        public bool Loaded => _loading.IsValueCreated && _loading.Value.IsCompletedSuccessfully;
        public int Leases;
        public DateTimeOffset LastUsed;
        public bool Disposed;
        public bool Pinned;

        /// <summary>Disposes the loaded model once, whichever of unload, forget, last lease or a late load gets here first.</summary>
        public bool DisposeValue()
        {
            if (!Loaded || Interlocked.Exchange(ref _valueDisposed, 1) != 0) return false;
            Loading.Result.Value.Dispose();
            return true;
        }
    }
}

/// <summary>What <see cref="LoadedModels.Unload"/> did.</summary>
public enum UnloadResult { Unloaded, NotLoaded, InUse, Kept }

/// <summary>A model in memory: when it finished loading, how long the load (and its warm-up run) took, the providers its sessions run on.</summary>
public sealed record LoadedModelState(DateTimeOffset LoadedAt, TimeSpan LoadTime, TimeSpan? WarmUpTime, IReadOnlyList<string> Providers, bool Pinned, int ActiveLeases);

/// <summary>A loaded model held for one use.</summary>
public sealed class ModelLease<T>(T value, Action release) : IDisposable where T : class
{
    private int _released;
    public T Value { get; } = value;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) release();
    }
}

/// <summary>Checks once a minute for idle models to unload.</summary>
internal sealed class IdleUnloader(LoadedModels models) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1));
        while (await timer.WaitForNextTickAsync(stoppingToken)) models.UnloadIdle();
    }
}
