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
    private readonly TimeProvider _clock = TimeProvider.System;

    public bool IsLoaded(string modelId) =>
        _entries.TryGetValue(modelId, out var e) && e.Loading.IsCompletedSuccessfully;

    /// <summary>Get the loaded model, loading it with <paramref name="load"/> on first use. Dispose the lease when done.</summary>
    public async Task<ModelLease<T>> AcquireAsync<T>(ModelDescriptor model, Func<ModelDescriptor, T> load, CancellationToken ct)
        where T : class, IDisposable
    {
        while (true)
        {
            var entry = _entries.GetOrAdd(model.Id, _ => new Entry(Task.Run(() => (IDisposable)Load(model, load))));
            IDisposable value;
            try
            {
                value = await entry.Loading.WaitAsync(ct);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(model.Id, entry));
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
            metrics.ModelLoaded(model.Id, model.Kind, sw.Elapsed);
            log.LogInformation("Loaded model {ModelId} in {ElapsedMs} ms", model.Id, sw.ElapsedMilliseconds);
            return value;
        }
        catch (Exception e)
        {
            metrics.ModelLoadFailed(model.Id, model.Kind);
            log.LogError(e, "Loading model {ModelId} failed", model.Id);
            throw;
        }
    }

    private void Release(Entry entry)
    {
        lock (entry)
        {
            entry.Leases--;
            entry.LastUsed = _clock.GetUtcNow();
        }
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
            if (!entry.Loading.IsCompletedSuccessfully) continue;
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

    public void Dispose()
    {
        foreach (var entry in _entries.Values)
            if (entry.Loading.IsCompletedSuccessfully) entry.Loading.Result.Dispose();
        _entries.Clear();
    }

    private sealed class Entry(Task<IDisposable> loading)
    {
        public Task<IDisposable> Loading { get; } = loading;
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
