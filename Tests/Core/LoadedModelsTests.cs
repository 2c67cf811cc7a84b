using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MultimodalHub.Contracts;
using MultimodalHub.Inference.Runtime;

namespace MultimodalHub.Tests.Core;

/// <summary>One model object per model, however many requests arrive at once while it loads.</summary>
public sealed class LoadedModelsTests
{
    private sealed class Counted : IDisposable
    {
        public int Disposals;
        public void Dispose() => Interlocked.Increment(ref Disposals);
    }

    [Fact]
    public async Task Concurrent_first_requests_load_the_model_once_and_share_it()
    {
        using var models = new LoadedModels(Options.Create(new InferenceOptions()), new HubMetrics(), NullLogger<LoadedModels>.Instance);
        var model = new ModelDescriptor($"race-{Guid.NewGuid():N}", ModelKind.Chat, "/nonexistent", [], null);
        var loads = 0;
        using var go = new ManualResetEventSlim();
        Counted Load(ModelDescriptor _)
        {
            Interlocked.Increment(ref loads);
            Thread.Sleep(50);
            return new Counted();
        }

        var acquires = Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            go.Wait(TestContext.Current.CancellationToken);
            return await models.AcquireAsync(model, Load, TestContext.Current.CancellationToken);
        })).ToList();
        go.Set();
        var leases = await Task.WhenAll(acquires);

        Assert.Equal(1, loads);
        Assert.Single(leases.Select(l => l.Value).Distinct());
        Assert.True(models.IsLoaded(model.Id));
        foreach (var lease in leases) lease.Dispose();
        Assert.Equal(0, leases[0].Value.Disposals);
    }

    [Fact]
    public async Task A_model_forgotten_while_it_loads_is_disposed_once_loaded_and_the_waiter_gets_a_fresh_one()
    {
        using var models = new LoadedModels(Options.Create(new InferenceOptions()), new HubMetrics(), NullLogger<LoadedModels>.Instance);
        var model = new ModelDescriptor($"forget-{Guid.NewGuid():N}", ModelKind.Chat, "/nonexistent", [], null);
        using var loading = new ManualResetEventSlim();
        using var finish = new ManualResetEventSlim();
        var made = new System.Collections.Concurrent.ConcurrentQueue<Counted>();
        Counted Load(ModelDescriptor _)
        {
            var counted = new Counted();
            made.Enqueue(counted);
            if (made.Count == 1)
            {
                loading.Set();
                finish.Wait(TestContext.Current.CancellationToken);
            }
            return counted;
        }

        var acquire = models.AcquireAsync(model, Load, TestContext.Current.CancellationToken);
        loading.Wait(TestContext.Current.CancellationToken);
        Assert.True(models.Forget(model.Id));
        finish.Set();
        using var lease = await acquire;

        var first = made.First();
        Assert.Equal(1, first.Disposals);
        Assert.NotSame(first, lease.Value);
        Assert.Equal(0, lease.Value.Disposals);
        Assert.Equal(2, made.Count);
    }
}
