using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Imaging;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Inference.Engines.Diffusion;

/// <summary>One server-sent event of a job: its name (queued, started, progress, preview, image, completed, failed, cancelled) and JSON data.</summary>
public sealed record ImageJobEvent(string Name, string Data);

/// <summary>
/// A background image job. Its events are kept in order (so a late subscriber replays them) and the job's state is
/// readable at any time. Thread-safe. Events are kept as objects and serialized when read, so an image's base64 is
/// held once (the image event, the completed event and <see cref="Result"/> share the same string); previews are not
/// replayed to a subscriber that arrives after the job finished.
/// </summary>
public sealed class ImageJob
{
    private static readonly JsonSerializerOptions Json = HubJson.Create();
    private readonly object _lock = new();
    private readonly List<(long Seq, string Name, object Data)> _events = [];
    private long _seq;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal ImageJob(string id, ImagePlan plan, string? owner = null)
    {
        Id = id;
        Plan = plan;
        Owner = owner;
        Created = DateTimeOffset.UtcNow;
    }

    public string Id { get; }
    /// <summary>The account whose API key submitted it (null: no key was checked, or the web app's service key).</summary>
    public string? Owner { get; }
    public ImagePlan Plan { get; }
    public DateTimeOffset Created { get; }
    public DateTimeOffset? StartedAt { get; private set; }
    public DateTimeOffset? Finished { get; private set; }
    public ImageJobStatus Status { get; private set; } = ImageJobStatus.Queued;
    public int? Position { get; private set; }
    public ImageJobProgress? Progress { get; private set; }
    public ImageGenerationResponse? Result { get; private set; }
    public string? Error { get; private set; }
    internal CancellationTokenSource Cancellation { get; } = new();
    internal Task Completion { get; set; } = Task.CompletedTask;

    public bool IsFinished => Status is ImageJobStatus.Succeeded or ImageJobStatus.Failed or ImageJobStatus.Cancelled;

    /// <summary>Approximate memory the job's finished images hold (base64 strings, UTF-16).</summary>
    public long RetainedBytes
    {
        get
        {
            lock (_lock) return Result?.Data.Sum(d => 2L * d.B64Json.Length) ?? 0;
        }
    }

    /// <summary>The job's state; with its result (the images) unless <paramref name="withResult"/> is false (listings).</summary>
    public ImageJobInfo Info(bool withResult = true)
    {
        lock (_lock)
            return new ImageJobInfo(Id, "image.job", Status, Plan.Model.Id, Created.ToUnixTimeSeconds(),
                Status == ImageJobStatus.Queued ? Position : null, Progress, withResult ? Result : null, Error,
                StartedAt?.ToUnixTimeMilliseconds() / 1000.0, Finished?.ToUnixTimeMilliseconds() / 1000.0);
    }

    internal void Queued(int position)
    {
        lock (_lock)
        {
            if (Status != ImageJobStatus.Queued || position <= 0 || Position == position) return;
            Position = position;
        }
        Emit("queued", new ImageJobQueuedEvent(Id, position));
    }

    /// <summary>The first event: queued at the position the queue reported (0 = starts right away).</summary>
    internal void Announce()
    {
        int position;
        lock (_lock)
        {
            if (_events.Count > 0) return;
            position = Position ?? 0;
        }
        Emit("queued", new ImageJobQueuedEvent(Id, position));
    }

    internal void Started(int images, int steps)
    {
        lock (_lock) { Status = ImageJobStatus.Running; Position = 0; StartedAt = DateTimeOffset.UtcNow; }
        Emit("started", new ImageJobStartedEvent(Id, images, steps));
    }

    internal void Step(ImageJobProgress progress)
    {
        lock (_lock) Progress = progress;
        Emit("progress", new ImageJobProgressEvent(Id, progress));
    }

    internal void Preview(int image, int step, Imaging.RgbImage preview) =>
        Emit("preview", new ImageJobPreviewEvent(Id, image + 1, step, preview.Width, preview.Height, Convert.ToBase64String(ImageCodec.EncodePng(preview))));

    internal void Image(int image, GeneratedImage data) => Emit("image", new ImageJobImageEvent(Id, image + 1, data));

    internal void Succeeded(ImageGenerationResponse result)
    {
        Emit("completed", new ImageJobCompletedEvent(Id, result), () => { Result = result; Status = ImageJobStatus.Succeeded; Finished = DateTimeOffset.UtcNow; });
    }

    internal void Ended(ImageJobStatus status, string? error)
    {
        Emit(status == ImageJobStatus.Cancelled ? "cancelled" : "failed", new ImageJobEndedEvent(Id, status, error),
            () => { Status = status; Error = error; Finished = DateTimeOffset.UtcNow; });
    }

    /// <summary>
    /// Record an event. A final event's state change (<paramref name="finish"/>) happens under the same lock as the
    /// event is added, so a reader that sees the job finished has also seen its last event.
    /// </summary>
    private void Emit(string name, object data, Action? finish = null)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            finish?.Invoke();
            _events.Add((++_seq, name, data));
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    /// <summary>
    /// Every event from the first, then new ones as they happen, until the final one. A subscriber that arrives after
    /// the job finished gets no previews (the images are in the image events); one that was reading while it ran gets
    /// them all, however far behind it is (previews are not removed under a reader's feet).
    /// </summary>
    public async IAsyncEnumerable<ImageJobEvent> ReadEventsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        long seen = 0;
        bool late;
        lock (_lock) late = IsFinished;
        while (true)
        {
            (long Seq, string Name, object Data)[] batch;
            Task wait;
            bool finished;
            lock (_lock)
            {
                // Sequence numbers increase along the list: the new events are a tail of it.
                var from = _events.Count;
                while (from > 0 && _events[from - 1].Seq > seen) from--;
                batch = _events.GetRange(from, _events.Count - from).ToArray();
                if (batch.Length > 0) seen = batch[^1].Seq;
                wait = _changed.Task;
                finished = IsFinished;
            }
            foreach (var e in batch)
                if (!(late && e.Name == "preview")) yield return new ImageJobEvent(e.Name, JsonSerializer.Serialize(e.Data, e.Data.GetType(), Json));
            if (finished) yield break;
            await wait.WaitAsync(ct);
        }
    }
}

/// <summary>
/// The image job store: jobs are planned (400s come back at submit), placed in the model's bounded FIFO (429 at
/// submit when it is full), run in the background, and kept in memory for <see cref="DiffusionOptions.JobRetention"/>
/// after they finish (at most <see cref="DiffusionOptions.MaxJobs"/> jobs and <see cref="DiffusionOptions.MaxRetainedBytes"/>
/// of images, oldest finished dropped first). On shutdown (<see cref="StopAsync"/>) every job is cancelled and awaited.
/// </summary>
public sealed class ImageJobs(DiffusionService service, IOptions<DiffusionOptions> options, ILogger<ImageJobs> log) : IHostedService, IDisposable
{
    private readonly ConcurrentDictionary<string, ImageJob> _jobs = new(StringComparer.Ordinal);

    public async Task<ImageJob> SubmitAsync(ImageGenerationRequest request, CancellationToken ct, string? owner = null)
    {
        Prune();
        var plan = await service.PlanAsync(request, ct);
        var job = new ImageJob("imgjob_" + Guid.NewGuid().ToString("N")[..24], plan, owner);
        var waited = Stopwatch.StartNew();
        var slotTask = service.EnterQueueAsync(plan, job.Cancellation.Token, job.Queued);
        if (slotTask.IsFaulted) await slotTask; // queue full: 429 now, not a failed job later
        job.Announce();
        _jobs[job.Id] = job;
        log.LogInformation("Image job {JobId} queued on {ModelId}", job.Id, plan.Model.Id);
        job.Completion = Task.Run(() => RunAsync(job, slotTask, waited), CancellationToken.None);
        return job;
    }

    private async Task RunAsync(ImageJob job, Task<IDisposable> slotTask, Stopwatch waited)
    {
        var ct = job.Cancellation.Token;
        try
        {
            using var slot = await slotTask;
            ct.ThrowIfCancellationRequested();
            var callbacks = new ImageRunCallbacks
            {
                Started = job.Started,
                Progress = job.Step,
                Preview = job.Preview,
                Image = job.Image,
            };
            var result = await service.RunAsync(job.Plan, waited.Elapsed, ct, callbacks);
            job.Succeeded(result);
            log.LogInformation("Image job {JobId} succeeded", job.Id);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            job.Ended(ImageJobStatus.Cancelled, "Cancelled.");
            log.LogInformation("Image job {JobId} cancelled", job.Id);
        }
        catch (Exception e)
        {
            var message = e is InvalidRequestException ? e.Message : "Image generation failed: " + e.Message;
            job.Ended(ImageJobStatus.Failed, message);
            log.LogError(e, "Image job {JobId} failed", job.Id);
        }
    }

    public ImageJob? Get(string id) => _jobs.TryGetValue(id, out var job) ? job : null;

    /// <summary>Recent jobs, newest first.</summary>
    public IReadOnlyList<ImageJob> List() => _jobs.Values.OrderByDescending(j => j.Created).ToList();

    /// <summary>Cancel a queued or running job and wait (briefly) for it to stop; a finished job is removed. Null when unknown.</summary>
    public async Task<ImageJob?> CancelAsync(string id, CancellationToken ct)
    {
        if (!_jobs.TryGetValue(id, out var job)) return null;
        if (job.IsFinished)
        {
            _jobs.TryRemove(id, out _);
            return job;
        }
        // The source is never disposed (it has no timer), so a job dropped meanwhile cannot make this throw.
        await job.Cancellation.CancelAsync();
        try { await job.Completion.WaitAsync(TimeSpan.FromSeconds(30), ct); }
        catch (TimeoutException) { log.LogWarning("Image job {JobId} did not stop within 30 s of cancellation", id); }
        return job;
    }

    private void Prune()
    {
        var o = options.Value;
        var now = DateTimeOffset.UtcNow;
        foreach (var job in _jobs.Values)
            if (job.Finished is { } f && now - f > o.JobRetention) Drop(job);
        var finished = _jobs.Values.Where(j => j.IsFinished).OrderBy(j => j.Finished).ToList();
        var bytes = finished.Sum(j => j.RetainedBytes);
        for (var i = 0; (_jobs.Count >= o.MaxJobs || bytes > o.MaxRetainedBytes) && i < finished.Count; i++)
        {
            bytes -= finished[i].RetainedBytes;
            Drop(finished[i]);
        }
    }

    // The job's CancellationTokenSource is not disposed: it has no timer, and a concurrent CancelAsync must not throw.
    private void Drop(ImageJob job) => _jobs.TryRemove(job.Id, out _);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Shutdown: cancel every unfinished job and wait for them to stop (at most ShutdownTimeout, or until the host gives up).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var running = _jobs.Values.Where(j => !j.IsFinished).ToList();
        if (running.Count == 0) return;
        log.LogInformation("Stopping: cancelling {Count} image job(s)", running.Count);
        foreach (var job in running) await job.Cancellation.CancelAsync();
        try
        {
            await Task.WhenAll(running.Select(j => j.Completion)).WaitAsync(options.Value.ShutdownTimeout, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            log.LogWarning("{Count} image job(s) had not stopped when shutdown went on", running.Count(j => !j.Completion.IsCompleted));
        }
    }

    public void Dispose()
    {
        foreach (var job in _jobs.Values)
            if (!job.IsFinished) job.Cancellation.Cancel();
    }
}
