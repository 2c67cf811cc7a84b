using System.Diagnostics;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Hub;

/// <summary>
/// One pull: its plan once known, per-file progress with rate and ETA, and its outcome (<see cref="Completion"/>).
/// Thread-safe: downloads report bytes from several threads while the CLI or the API reads <see cref="Snapshot"/>.
/// </summary>
public sealed class PullJob : IDisposable
{
    private readonly Lock _lock = new();
    private readonly RateMeter _rate = new();
    private readonly CancellationTokenSource _cts;
    private FileProgress[] _files = [];
    private PullPlan? _plan;

    internal PullJob(PullSpec spec, string root, CancellationToken shutdown)
    {
        Spec = spec;
        Root = root;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
    }

    public string Id { get; } = Guid.NewGuid().ToString("N")[..12];

    public PullSpec Spec { get; }

    /// <summary>The models root the model is pulled into.</summary>
    public string Root { get; }

    public PullStatus Status { get; private set; } = PullStatus.Queued;

    public PullException? Error { get; private set; }

    public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;

    public DateTimeOffset? Finished { get; private set; }

    /// <summary>Completes with the result, or faults with the <see cref="PullException"/> / <see cref="OperationCanceledException"/>.</summary>
    public Task<PullResult> Completion { get; internal set; } = null!;

    /// <summary>Whether a cancel should delete the partial files (the API's cancel) or keep them for a later resume (Ctrl+C, shutdown).</summary>
    internal bool DiscardOnCancel { get; private set; }

    internal CancellationToken Token => _cts.Token;

    public void Cancel(bool discard)
    {
        DiscardOnCancel |= discard;
        _cts.Cancel();
    }

    internal void Running()
    {
        lock (_lock) Status = PullStatus.Running;
    }

    internal void SetPlan(PullPlan plan, IReadOnlyDictionary<string, (PullFileStatus Status, long Done)> start)
    {
        lock (_lock)
        {
            _plan = plan;
            _files = plan.Files.Select(f =>
            {
                var (status, done) = start.TryGetValue(f.Path, out var s) ? s : (PullFileStatus.Pending, 0);
                return new FileProgress(f) { Status = status, Done = done };
            }).ToArray();
        }
    }

    internal void FileStarted(HubFile file, long partial)
    {
        var p = Find(file);
        lock (_lock) { p.Status = PullFileStatus.Downloading; p.Done = partial; }
    }

    internal void Add(HubFile file, long bytes)
    {
        var p = Find(file);
        lock (_lock) p.Done += bytes;
        p.Rate.Add(bytes);
        _rate.Add(bytes);
    }

    internal void FileFinished(HubFile file, bool ok)
    {
        var p = Find(file);
        lock (_lock) p.Status = ok ? PullFileStatus.Done : PullFileStatus.Failed;
    }

    internal void Finish(PullStatus status, PullException? error)
    {
        lock (_lock)
        {
            Status = status;
            Error = error;
            Finished = DateTimeOffset.UtcNow;
        }
    }

    private FileProgress Find(HubFile file) => _files.First(f => ReferenceEquals(f.File, file) || f.File.Path == file.Path);

    public PullJobInfo Snapshot()
    {
        lock (_lock)
        {
            var files = _files.Select(f => f.Info()).ToList();
            var total = files.Sum(f => f.Size);
            var done = files.Sum(f => f.Done);
            var rate = Status == PullStatus.Running ? _rate.BytesPerSecond : 0;
            return new PullJobInfo(Id, Spec.Repo.Repo, Spec.Repo.Revision, (_plan is { } p ? OnnxVariants.Name(p.Variant) : null) ?? (Spec.Variant is { } v ? OnnxVariants.Name(v) : null),
                Spec.ModelName, Status, total, done, rate, rate > 0 ? (total - done) / rate : null, files,
                Error?.Message, Error is { } e ? ErrorKindName(e.Kind) : null, _plan?.Kind.ToString().ToLowerInvariant(), _plan?.Commit, Created, Finished);
        }
    }

    /// <summary>snake_case, as the API writes enums.</summary>
    public static string ErrorKindName(PullErrorKind kind) => kind switch
    {
        PullErrorKind.NotFound => "not_found",
        PullErrorKind.DiskFull => "disk_full",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public void Dispose() => _cts.Dispose();

    private sealed class FileProgress(HubFile file)
    {
        public HubFile File { get; } = file;

        public PullFileStatus Status { get; set; }

        public long Done { get; set; }

        public RateMeter Rate { get; } = new();

        public PullFileInfo Info()
        {
            var size = File.Size ?? Done;
            var rate = Status == PullFileStatus.Downloading ? Rate.BytesPerSecond : (double?)null;
            return new PullFileInfo(File.Path, size, Status is PullFileStatus.Done or PullFileStatus.Present ? size : Done, Status, File.IsLfs,
                rate, rate > 0 ? (size - Done) / rate : null);
        }
    }
}

/// <summary>Bytes per second over the last few seconds.</summary>
internal sealed class RateMeter
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);
    private readonly Lock _lock = new();
    private readonly Queue<(long At, long Bytes)> _samples = new();
    private long _bytes;

    public void Add(long bytes)
    {
        lock (_lock)
        {
            var now = Stopwatch.GetTimestamp();
            if (_samples.Count == 0) _samples.Enqueue((now, _bytes));
            _bytes += bytes;
            if (Stopwatch.GetElapsedTime(_samples.Last().At, now) >= TimeSpan.FromMilliseconds(100)) _samples.Enqueue((now, _bytes));
            while (_samples.Count > 2 && Stopwatch.GetElapsedTime(_samples.Peek().At, now) > Window) _samples.Dequeue();
        }
    }

    public double BytesPerSecond
    {
        get
        {
            lock (_lock)
            {
                if (_samples.Count == 0) return 0;
                var (at, bytes) = _samples.Peek();
                var seconds = Stopwatch.GetElapsedTime(at).TotalSeconds;
                return seconds < 0.05 ? 0 : (_bytes - bytes) / seconds;
            }
        }
    }
}
