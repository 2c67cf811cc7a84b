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
public sealed class LoadedModels(IOptions<InferenceOptions> options, HubMetrics metrics, ILogger<LoadedModels> log) : IDisposable
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, ModelLoadException Error)> _failures = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider _clock = TimeProvider.System;

    /// <summary>How long a failed load is answered from memory before the files are tried again.</summary>
    public static readonly TimeSpan RetryFailedLoadAfter = TimeSpan.FromSeconds(10);

    public bool IsLoaded(string modelId) =>
        _entries.TryGetValue(modelId, out var e) && e.Loaded;

    /// <summary>Get the loaded model, loading it with <paramref name="load"/> on first use. Dispose the lease when done.</summary>
    public async Task<ModelLease<T>> AcquireAsync<T>(ModelDescriptor model, Func<ModelDescriptor, T> load, CancellationToken ct)
        where T : class, IDisposable
    {
        while (true)
        {
            // A broken model is not reloaded on every request: its failure is repeated for a while, then the files are tried again.
            if (_failures.TryGetValue(model.Id, out var failed) && _clock.GetUtcNow() - failed.At < RetryFailedLoadAfter) throw failed.Error;
            var entry = _entries.GetOrAdd(model.Id, _ => new Entry(() => Task.Run(() => (IDisposable)Load(model, load))));
            IDisposable value;
            try
            {
                value = await entry.Loading.WaitAsync(ct);
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
                if (entry.Disposed) continue; // unloaded between lookup and lease: load again
                entry.Leases++;
                entry.LastUsed = _clock.GetUtcNow();
            }
            return new ModelLease<T>((T)value, () => Release(entry));
        }
    }

    private T Load<T>(ModelDescriptor model, Func<ModelDescriptor, T> load)
    {
        var sw = Stopwatch.StartNew();
        log.LogInformation("Loading model {ModelId} ({Kind})", model.Id, model.Kind);
        try
        {
            var value = load(model);
            _failures.TryRemove(model.Id, out _);
            metrics.ModelLoaded(model.Id, model.Kind, sw.Elapsed);
            log.LogInformation("Loaded model {ModelId} in {ElapsedMs} ms", model.Id, sw.ElapsedMilliseconds);
            return value;
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

    private void Release(Entry entry)
    {
        bool dispose;
        lock (entry)
        {
            entry.Leases--;
            entry.LastUsed = _clock.GetUtcNow();
            // Unloaded (Unload) while this lease was out: the last lease disposes it.
            dispose = entry.Disposed && entry.Leases == 0;
        }
        if (dispose) entry.Loading.Result.Dispose();
    }

    /// <summary>Dispose the models idle for longer than the configured time; returns how many.</summary>
    public int UnloadIdle()
    {
        var idle = options.Value.IdleUnload;
        if (idle <= TimeSpan.Zero) return 0;
        var now = _clock.GetUtcNow();
        var count = 0;
        foreach (var (id, entry) in _entries)
        {
            if (!entry.Loaded) continue;
            lock (entry)
            {
                if (entry.Leases > 0 || now - entry.LastUsed < idle) continue;
                entry.Disposed = true;
            }
            _entries.TryRemove(new KeyValuePair<string, Entry>(id, entry));
            entry.Loading.Result.Dispose();
            metrics.ModelUnloaded(id);
            log.LogInformation("Unloaded model {ModelId} after {Idle} idle", id, idle);
            count++;
        }
        return count;
    }

    /// <summary>
    /// Forget a model (it is being deleted): later requests load it afresh; a loaded instance is disposed once no request
    /// holds it (at once when none does, else by the idle unloader). Returns whether it was loaded.
    /// </summary>
    public bool Unload(string modelId)
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
            entry.Loading.Result.Dispose();
            metrics.ModelUnloaded(modelId);
        }
        log.LogInformation("Unloaded model {ModelId} (removed)", modelId);
        return true;
    }

    public void Dispose()
    {
        foreach (var entry in _entries.Values)
            if (entry.Loaded) entry.Loading.Result.Dispose();
        _entries.Clear();
    }

    private sealed class Entry(Func<Task<IDisposable>> startLoading)
    {
        // Started on first use, so only the entry that won GetOrAdd loads: ConcurrentDictionary may run the value
        // factory for racing callers too, and a load started there would build sessions nobody ever disposes.
        private readonly Lazy<Task<IDisposable>> _loading = new(startLoading);
        public Task<IDisposable> Loading => _loading.Value;
        public bool Loaded => _loading.IsValueCreated && _loading.Value.IsCompletedSuccessfully;
        public int Leases;
        public DateTimeOffset LastUsed;
        public bool Disposed;
    }
}

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
