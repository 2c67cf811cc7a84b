using Microsoft.Extensions.Options;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Tests.Core;

public sealed class ModelQueuesTests
{
    private static ModelQueues Queues(int concurrency, int maxQueued) =>
        new(Options.Create(new QueueOptions { Concurrency = concurrency, MaxQueued = maxQueued }), new HubMetrics());

    [Fact]
    public async Task Admits_in_arrival_order_and_rejects_past_the_bound()
    {
        var queues = Queues(concurrency: 1, maxQueued: 2);
        var ct = TestContext.Current.CancellationToken;
        var first = await queues.EnterAsync("m", ct);
        var order = new List<int>();
        var positions = new List<int>();
        var second = Task.Run(async () => { using var _ = await queues.EnterAsync("m", ct, p => { lock (positions) positions.Add(p); }); lock (order) order.Add(2); }, ct);
        while (queues.Waiting("m") < 1) await Task.Delay(5, ct);
        var third = Task.Run(async () => { using var _ = await queues.EnterAsync("m", ct); lock (order) order.Add(3); }, ct);
        while (queues.Waiting("m") < 2) await Task.Delay(5, ct);

        var full = await Assert.ThrowsAsync<QueueFullException>(() => queues.EnterAsync("m", ct));
        Assert.Equal("m", full.Queue);
        Assert.Equal(2, queues.Waiting("m"));

        first.Dispose();
        await Task.WhenAll(second, third);
        Assert.Equal([2, 3], order);
        Assert.Equal(1, positions[0]);
        Assert.Equal(0, positions[^1]);
        Assert.Equal(0, queues.Waiting("m"));
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_queue_and_the_slot_passes_on()
    {
        var queues = Queues(concurrency: 1, maxQueued: 4);
        var ct = TestContext.Current.CancellationToken;
        var running = await queues.EnterAsync("m", ct);
        using var cts = new CancellationTokenSource();
        var cancelled = queues.EnterAsync("m", cts.Token);
        var next = queues.EnterAsync("m", ct);
        while (queues.Waiting("m") < 2) await Task.Delay(5, ct);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(1, queues.Waiting("m"));
        running.Dispose();
        using var slot = await next.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.Equal(0, queues.Waiting("m"));
    }

    [Fact]
    public async Task Models_have_separate_queues()
    {
        var queues = Queues(concurrency: 1, maxQueued: 0);
        var ct = TestContext.Current.CancellationToken;
        using var a = await queues.EnterAsync("a", ct);
        using var b = await queues.EnterAsync("b", ct);
        await Assert.ThrowsAsync<QueueFullException>(() => queues.EnterAsync("a", ct));
    }

    [Fact]
    public async Task A_callback_failing_while_waiting_leaves_no_dead_ticket()
    {
        var queues = Queues(concurrency: 1, maxQueued: 1);
        var ct = TestContext.Current.CancellationToken;
        var running = await queues.EnterAsync("m", ct);
        await Assert.ThrowsAsync<InvalidOperationException>(() => queues.EnterAsync("m", ct, p => throw new InvalidOperationException("position " + p)));
        Assert.Equal(0, queues.Waiting("m"));
        var next = queues.EnterAsync("m", ct); // the queue has room again, and the released slot reaches this waiter
        running.Dispose();
        using var slot = await next.WaitAsync(TimeSpan.FromSeconds(10), ct);
    }

    [Fact]
    public async Task A_callback_failing_after_admission_releases_the_slot()
    {
        var queues = Queues(concurrency: 1, maxQueued: 0);
        var ct = TestContext.Current.CancellationToken;
        await Assert.ThrowsAsync<InvalidOperationException>(() => queues.EnterAsync("m", ct, p => { if (p == 0) throw new InvalidOperationException("admitted"); }));
        using var slot = await queues.EnterAsync("m", ct).WaitAsync(TimeSpan.FromSeconds(10), ct); // would be QueueFullException with a leaked slot
    }
}
