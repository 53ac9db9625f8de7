using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.Tests.Infrastructure;

namespace MonkeyCoder.Tests.Execution;

/// <summary>Breaker states and router statistics shared by two replicas through a real Redis.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoresTests(RedisFixture redis)
{
    private static string UniqueKey() => $"test/{Guid.NewGuid():N}";

    private static CircuitBreaker Breaker(ICircuitBreakerStore store, FakeTimeProvider time) =>
        new(store, time, Options.Create(new ExecutionOptions { BreakerFailureThreshold = 2, BreakerBreakMs = 10_000, BreakerProbeLeaseMs = 5_000 }), NullLogger<CircuitBreaker>.Instance);

    [Fact]
    public async Task RedisCircuitBreaker_OpenedByOneReplica_SeenByOtherThenOneProbeClosesForBoth()
    {
        if (!redis.Available)
        {
            return;
        }

        var key = UniqueKey();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = Breaker(new RedisCircuitBreakerStore(redis.ReplicaA!), time);
        var b = Breaker(new RedisCircuitBreakerStore(redis.ReplicaB!), time);

        await a.OnFailureAsync(key, ProviderErrorClass.Overloaded, CancellationToken.None);
        await b.OnFailureAsync(key, ProviderErrorClass.Timeout, CancellationToken.None);
        Assert.False((await a.AcquireAsync(key, CancellationToken.None)).Allowed);
        var rejected = await b.AcquireAsync(key, CancellationToken.None);
        Assert.False(rejected.Allowed);
        Assert.InRange(rejected.RetryAfter, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(10));

        time.Advance(TimeSpan.FromSeconds(10));
        var probeA = await a.AcquireAsync(key, CancellationToken.None);
        var probeB = await b.AcquireAsync(key, CancellationToken.None);
        Assert.True(probeA.IsProbe);
        Assert.False(probeB.Allowed);

        await a.OnSuccessAsync(key, CancellationToken.None);
        Assert.Equal(CircuitState.Closed, (await b.DescribeAsync([key], CancellationToken.None))[key].State);
        Assert.True((await b.AcquireAsync(key, CancellationToken.None)).Allowed);
    }

    [Fact]
    public async Task RedisCircuitBreaker_RetryAfterOnOneReplica_HeldOpenOnOtherUntilThen()
    {
        if (!redis.Available)
        {
            return;
        }

        var key = UniqueKey();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = Breaker(new RedisCircuitBreakerStore(redis.ReplicaA!), time);
        var b = Breaker(new RedisCircuitBreakerStore(redis.ReplicaB!), time);

        await a.OnFailureAsync(key, ProviderErrorClass.RateLimited, TimeSpan.FromSeconds(30), CancellationToken.None);

        var held = await b.AcquireAsync(key, CancellationToken.None);
        Assert.False(held.Allowed);
        Assert.InRange(held.RetryAfter, TimeSpan.FromSeconds(29), TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await b.AcquireAsync(key, CancellationToken.None)).IsProbe);
    }

    [Fact]
    public async Task RedisCircuitBreaker_ProbeFails_ReopensForEveryone()
    {
        if (!redis.Available)
        {
            return;
        }

        var key = UniqueKey();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = Breaker(new RedisCircuitBreakerStore(redis.ReplicaA!), time);
        var b = Breaker(new RedisCircuitBreakerStore(redis.ReplicaB!), time);
        await a.OnFailureAsync(key, ProviderErrorClass.Overloaded, CancellationToken.None);
        await a.OnFailureAsync(key, ProviderErrorClass.Overloaded, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True((await b.AcquireAsync(key, CancellationToken.None)).IsProbe);
        await b.OnFailureAsync(key, ProviderErrorClass.Overloaded, CancellationToken.None);
        Assert.Equal(CircuitState.Open, (await a.DescribeAsync([key], CancellationToken.None))[key].State);
    }

    [Fact]
    public async Task RedisRouterStats_UpdatesFromTwoReplicas_MatchInProcessArithmetic()
    {
        if (!redis.Available)
        {
            return;
        }

        var key = UniqueKey();
        var options = Options.Create(new RoutingOptions { Decay = 0.9, DecayHalfLifeSeconds = 60 });
        // Both replicas and the in-process reference on one clock, which moves between updates: the
        // time decay (half-life 60 s) must come out the same in Lua as in C#.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = new RedisRouterStatsStore(redis.ReplicaA!, options, time, NullLogger<RedisRouterStatsStore>.Instance);
        var b = new RedisRouterStatsStore(redis.ReplicaB!, options, time, NullLogger<RedisRouterStatsStore>.Instance);
        var local = new InMemoryRouterStatsStore(options, time);
        var rewards = new RewardModel(options.Value);
        StatsUpdate[] updates =
        [
            rewards.ForAttempt(new AttemptObservation(true, "ok", 1200, 300, 0.002), null),
            rewards.ForAttempt(new AttemptObservation(false, "overloaded", 50, null, 0), ProviderErrorClass.Overloaded),
            rewards.ForRating(4),
            rewards.ForAttempt(new AttemptObservation(true, "ok", 800, null, 0.001), null),
        ];
        for (var i = 0; i < updates.Length; i++)
        {
            await (i % 2 == 0 ? a : b).UpdateForTaskAsync(key, "code_generation", updates[i], CancellationToken.None);
            await local.UpdateForTaskAsync(key, "code_generation", updates[i], CancellationToken.None);
            time.Advance(TimeSpan.FromSeconds(30));
        }

        var perTask = LearningKeys.ForTask(key, "code_generation");
        var read = await b.GetAsync([key, perTask], CancellationToken.None);
        var shared = read[key];
        var expected = (await local.GetAsync([key], CancellationToken.None))[key];
        Assert.Equal(expected.Alpha, shared.Alpha, 9);
        Assert.Equal(expected.Beta, shared.Beta, 9);
        Assert.Equal(expected.Attempts, shared.Attempts, 9);
        Assert.Equal(expected.Failures, shared.Failures, 9);
        // Attempts 120, 90 and 30 s before the read (the third update is a rating), half-life 60 s.
        Assert.Equal(Math.Pow(2, -2) + Math.Pow(2, -1.5) + Math.Pow(2, -0.5), (await a.GetAsync([key], CancellationToken.None))[key].Attempts, 9);
        // The per-task statistics saw the same updates; another replica reads them.
        Assert.Equal(expected.Alpha, read[perTask].Alpha, 9);
        Assert.Equal(expected.LatencyMs, shared.LatencyMs, 9);
        Assert.Equal(300, shared.TimeToFirstTokenMs, 9);
        Assert.Equal(expected.CostUsd, shared.CostUsd, 12);
        Assert.Equal("overloaded", shared.LastError);

        await a.RememberExecutionAsync("exec_" + key, key, "usr_owner", "code_generation", CancellationToken.None);
        Assert.Equal(new RememberedExecution(key, "usr_owner", "code_generation"), await b.FindExecutionAsync("exec_" + key, CancellationToken.None));
        Assert.Null(await b.FindExecutionAsync("exec_unknown_" + key, CancellationToken.None));

        // One rating per execution, whichever replica it reaches.
        Assert.True(await a.TryMarkRatedAsync("exec_" + key, CancellationToken.None));
        Assert.False(await b.TryMarkRatedAsync("exec_" + key, CancellationToken.None));
    }
}
