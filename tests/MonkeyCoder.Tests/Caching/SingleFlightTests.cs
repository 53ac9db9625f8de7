using MonkeyCoder.Core.Caching;

namespace MonkeyCoder.Tests.Caching;

public sealed class SingleFlightTests
{
    [Fact]
    public async Task RunAsync_ConcurrentSameKey_OneCallSharedResult()
    {
        var flight = new SingleFlight<int>();
        var calls = 0;
        var gate = new TaskCompletionSource();
        var tasks = Enumerable.Range(0, 10).Select(_ => flight.RunAsync("k", async ct =>
        {
            Interlocked.Increment(ref calls);
            await gate.Task.WaitAsync(ct);
            return 42;
        }, CancellationToken.None)).ToList();

        gate.SetResult();
        var results = await Task.WhenAll(tasks);
        Assert.Equal(1, calls);
        Assert.All(results, r => Assert.Equal(42, r.Value));
        Assert.Single(results, r => !r.Joined);
        Assert.Equal(0, flight.InFlight);
    }

    [Fact]
    public async Task RunAsync_OneCallerCancels_OthersStillGetTheAnswer()
    {
        var flight = new SingleFlight<int>();
        var gate = new TaskCompletionSource();
        using var impatient = new CancellationTokenSource();
        var leader = flight.RunAsync("k", async ct => { await gate.Task.WaitAsync(ct); return 7; }, impatient.Token);
        var follower = flight.RunAsync("k", _ => throw new InvalidOperationException("must not run"), CancellationToken.None);

        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader);
        gate.SetResult();
        Assert.Equal(7, (await follower).Value);
    }

    [Fact]
    public async Task RunAsync_AllCallersCancel_WorkIsCancelled()
    {
        var flight = new SingleFlight<int>();
        var workCancelled = new TaskCompletionSource();
        using var cts = new CancellationTokenSource();
        var call = flight.RunAsync("k", async ct =>
        {
            ct.Register(() => workCancelled.TrySetResult());
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        }, cts.Token);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await workCancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task SubscribeAsync_LateJoiner_ReplaysFromStartAndOneSourceRun()
    {
        var flight = new StreamFlight<int>();
        var runs = 0;
        var release = new TaskCompletionSource();
        async IAsyncEnumerable<int> Source([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            Interlocked.Increment(ref runs);
            yield return 1;
            yield return 2;
            await release.Task.WaitAsync(ct);
            yield return 3;
        }

        async Task<List<(int, bool)>> Read()
        {
            var items = new List<(int, bool)>();
            await foreach (var item in flight.SubscribeAsync("k", Source, CancellationToken.None))
            {
                items.Add(item);
            }

            return items;
        }

        var first = Read();
        await Task.Delay(50);
        var second = Read();
        await Task.Delay(50);
        release.SetResult();

        Assert.Equal([(1, false), (2, false), (3, false)], await first);
        Assert.Equal([(1, true), (2, true), (3, true)], await second);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task SubscribeAsync_SourceFails_EverySubscriberSeesTheError()
    {
        var flight = new StreamFlight<int>();
        async IAsyncEnumerable<int> Source([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            yield return 1;
            await Task.Delay(20, ct);
            throw new InvalidOperationException("cut");
        }

        async Task Read()
        {
            await foreach (var _ in flight.SubscribeAsync("k", Source, CancellationToken.None))
            {
            }
        }

        var errors = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Assert.ThrowsAsync<InvalidOperationException>(Read)));
        Assert.All(errors, e => Assert.Equal("cut", e.Message));
    }
}
