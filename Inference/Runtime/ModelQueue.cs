using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace MultimodalHub.Inference.Runtime;

/// <summary>Configuration section "Queues": how many requests run at once per model and how many may wait.</summary>
public sealed class QueueOptions
{
    public const string Section = "Queues";

    /// <summary>Requests that run at once on one model (default 1: one CPU-heavy loop at a time).</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>Requests that may wait per model before new ones get 429.</summary>
    public int MaxQueued { get; set; } = 16;

    /// <summary>The Retry-After given with a 429.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Per-model bounded FIFO admission: at most Concurrency requests run on a model, at most MaxQueued wait (in
/// arrival order, SemaphoreSlim's waiters are FIFO in practice but not guaranteed, so tickets are used), the rest
/// get <see cref="QueueFullException"/>. Waiting honours cancellation.
/// </summary>
public sealed class ModelQueues(IOptions<QueueOptions> options, HubMetrics metrics)
{
    private readonly ConcurrentDictionary<string, Gate> _gates = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Requests waiting (not yet running) for a model.</summary>
    public int Waiting(string modelId) => _gates.TryGetValue(modelId, out var g) ? g.Waiting : 0;

    /// <summary>
    /// Wait for a slot on the model; onPosition is told the 1-based queue position as it changes (0 = running).
    /// Dispose the returned slot when done.
    /// </summary>
    public async Task<IDisposable> EnterAsync(string modelId, CancellationToken ct, Action<int>? onPosition = null)
    {
        var o = options.Value;
        var gate = _gates.GetOrAdd(modelId, _ => new Gate(Math.Max(1, o.Concurrency)));
        var sw = Stopwatch.StartNew();
        var ticket = gate.Enqueue(o.MaxQueued);
        if (ticket is null) throw new QueueFullException(modelId, o.RetryAfter);
        metrics.QueueDepth(modelId, gate.Waiting);
        try
        {
            try
            {
                await gate.WaitTurnAsync(ticket, onPosition, ct);
            }
            finally
            {
                metrics.QueueDepth(modelId, gate.Waiting);
            }
            metrics.QueueWait(modelId, sw.Elapsed);
            onPosition?.Invoke(0);
        }
        catch
        {
            // Cancelled, or a position callback failed: no dead ticket is left to receive the slot, and a slot already
            // given is passed on.
            gate.Abandon(ticket);
            throw;
        }
        return new Slot(gate);
    }

    private sealed class Slot(Gate gate) : IDisposable
    {
        private int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) gate.Leave(); }
    }

    private sealed class Gate(int concurrency)
    {
        private readonly object _lock = new();
        private readonly LinkedList<TaskCompletionSource> _queue = new();
        private int _running;

        public int Waiting { get { lock (_lock) return _queue.Count; } }

        public LinkedListNode<TaskCompletionSource>? Enqueue(int maxQueued)
        {
            lock (_lock)
            {
                var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_running < concurrency && _queue.Count == 0)
                {
                    _running++;
                    tcs.SetResult();
                    return new LinkedListNode<TaskCompletionSource>(tcs);
                }
                if (_queue.Count >= maxQueued) return null;
                return _queue.AddLast(tcs);
            }
        }

        public async Task WaitTurnAsync(LinkedListNode<TaskCompletionSource> ticket, Action<int>? onPosition, CancellationToken ct)
        {
            if (ticket.Value.Task.IsCompleted) return;
            using var reg = ct.Register(() =>
            {
                lock (_lock)
                {
                    if (ticket.List is null) return; // already admitted
                    _queue.Remove(ticket);
                }
                ticket.Value.TrySetCanceled(ct);
            });
            if (onPosition is not null)
            {
                onPosition(Position(ticket));
                while (!ticket.Value.Task.IsCompleted)
                {
                    var done = await Task.WhenAny(ticket.Value.Task, Task.Delay(TimeSpan.FromMilliseconds(500), CancellationToken.None));
                    if (done != ticket.Value.Task) onPosition(Position(ticket));
                }
            }
            await ticket.Value.Task;
        }

        /// <summary>Give up a ticket: out of the queue if still waiting, the slot passed on if it was already admitted.</summary>
        public void Abandon(LinkedListNode<TaskCompletionSource> ticket)
        {
            lock (_lock)
            {
                if (ticket.List is not null)
                {
                    _queue.Remove(ticket);
                    ticket.Value.TrySetCanceled();
                    return;
                }
            }
            if (ticket.Value.Task.IsCompletedSuccessfully) Leave();
        }

        private int Position(LinkedListNode<TaskCompletionSource> ticket)
        {
            lock (_lock)
            {
                var i = 1;
                for (var n = _queue.First; n is not null; n = n.Next, i++) if (n == ticket) return i;
                return 0;
            }
        }

        public void Leave()
        {
            lock (_lock)
            {
                while (_queue.First is { } next)
                {
                    _queue.RemoveFirst();
                    if (next.Value.TrySetResult()) return; // the slot passes to the next waiter
                }
                _running--;
            }
        }
    }
}
