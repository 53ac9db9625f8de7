using System.Net.Sockets;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.Tests.Infrastructure;
using MonkeyCoder.Tests.Observability;
using MonkeyCoder.V1;
using Npgsql;

namespace MonkeyCoder.Tests.Usage;

/// <summary>GetUsage's stale-if-error memory: expiry, the size bound, and that an answer only ever goes back to the caller who got it.</summary>
public sealed class UsageReadCacheTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 3, 0, 0, TimeSpan.Zero);
    private static readonly CallerIdentity Alice = new("alice", "key-a", false);
    private static readonly CallerIdentity Bob = new("bob", "key-b", false);
    private static readonly CallerIdentity Admin = new("root", "key-r", true);

    private static UsageReadCache Cache(FakeTimeProvider time, int staleSeconds = 600, int megabytes = 16, MetricsCapture? metrics = null) =>
        new(Options.Create(new UsageOptions { StaleReadSeconds = staleSeconds, StaleReadCacheMb = megabytes }), time, metrics?.Metrics);

    private static UsageReadKey Rolling(CallerIdentity caller, int seconds = 10, DateTimeOffset? now = null) =>
        UsageReadKey.For(caller, caller.IsAdmin ? null : caller.PrincipalId, false, (now ?? T0).AddSeconds(-seconds), now ?? T0, explicitEnd: false);

    [Fact]
    public void TryGetStale_WithinTheStaleWindow_ServedThenExpiresAfterIt()
    {
        var time = new FakeTimeProvider(T0);
        using var metrics = new MetricsCapture(time);
        var cache = Cache(time, staleSeconds: 600, metrics: metrics);
        cache.Store(Rolling(Alice), [1, 2, 3], T0);

        time.Advance(TimeSpan.FromSeconds(600));
        Assert.True(cache.TryGetStale(Rolling(Alice), out var payload, out var asOf));
        Assert.Equal([1, 2, 3], payload);
        Assert.Equal(T0, asOf);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGetStale(Rolling(Alice), out _, out _));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.Bytes);
        Assert.Equal(1, metrics.Read("monkeycoder.usage.stale_reads").Sum(s => s.Value));
    }

    [Fact]
    public void Store_AgainLater_RestartsTheWindowFromTheNewAnswer()
    {
        var time = new FakeTimeProvider(T0);
        var cache = Cache(time, staleSeconds: 60);
        cache.Store(Rolling(Alice), [1], T0);
        time.Advance(TimeSpan.FromSeconds(50));
        cache.Store(Rolling(Alice), [2], time.GetUtcNow());
        time.Advance(TimeSpan.FromSeconds(50));

        Assert.True(cache.TryGetStale(Rolling(Alice), out var payload, out var asOf));
        Assert.Equal([2], payload);
        Assert.Equal(T0.AddSeconds(50), asOf);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void StaleReadSecondsZero_NothingKeptNothingServed()
    {
        var time = new FakeTimeProvider(T0);
        var cache = Cache(time, staleSeconds: 0);
        cache.Store(Rolling(Alice), [1], T0);
        Assert.False(cache.Enabled);
        Assert.Equal(0, cache.Count);
        Assert.False(cache.TryGetStale(Rolling(Alice), out _, out _));
    }

    [Fact]
    public void Store_BeyondTheSizeBound_OldestAnswersDroppedFirstAndTheBoundHolds()
    {
        var time = new FakeTimeProvider(T0);
        var cache = Cache(time, megabytes: 1);
        var answer = new byte[300 * 1024];
        for (var i = 0; i < 10; i++)
        {
            cache.Store(Rolling(new CallerIdentity($"user-{i}", null, false)), answer, time.GetUtcNow());
            time.Advance(TimeSpan.FromSeconds(1));
            Assert.True(cache.Bytes <= 1024 * 1024, $"{cache.Bytes} bytes held after {i + 1} answers");
        }

        // Three 300 KiB answers fit in 1 MiB, not four: the newest three stay.
        Assert.Equal(3, cache.Count);
        Assert.True(cache.TryGetStale(Rolling(new CallerIdentity("user-9", null, false)), out _, out _));
        Assert.True(cache.TryGetStale(Rolling(new CallerIdentity("user-7", null, false)), out _, out _));
        Assert.False(cache.TryGetStale(Rolling(new CallerIdentity("user-6", null, false)), out _, out _));
        Assert.False(cache.TryGetStale(Rolling(new CallerIdentity("user-0", null, false)), out _, out _));

        // An answer larger than the whole bound is not kept (and does not push the others out).
        cache.Store(Rolling(Alice), new byte[1024 * 1024 + 1], time.GetUtcNow());
        Assert.False(cache.TryGetStale(Rolling(Alice), out _, out _));
        Assert.Equal(3, cache.Count);
    }

    [Fact]
    public void TryGetStale_SameRequestOfAnotherCaller_NeverServed()
    {
        var time = new FakeTimeProvider(T0);
        var cache = Cache(time);
        cache.Store(Rolling(Alice), [0xA], T0);
        cache.Store(Rolling(Admin), [0xF], T0);

        Assert.False(cache.TryGetStale(Rolling(Bob), out _, out _));
        // An admin's answer about alice (scope alice) is the admin's, not alice's, and the reverse.
        Assert.False(cache.TryGetStale(UsageReadKey.For(Admin, "alice", false, T0.AddSeconds(-10), T0, false), out _, out _));
        Assert.False(cache.TryGetStale(UsageReadKey.For(Bob, null, false, T0.AddSeconds(-10), T0, false), out _, out _));
        Assert.True(cache.TryGetStale(Rolling(Alice), out var alice, out _));
        Assert.Equal([0xA], alice);
        Assert.True(cache.TryGetStale(Rolling(Admin), out var admin, out _));
        Assert.Equal([0xF], admin);
    }

    [Fact]
    public void Key_RollingWindowIsItsLengthAbsoluteRangeIsItsBounds()
    {
        // "The last 10 s" asked a minute later is the same shape; 20 s, hourly or an absolute range are not.
        Assert.Equal(Rolling(Alice), Rolling(Alice, now: T0.AddMinutes(1)));
        Assert.Equal(Rolling(Alice), UsageReadKey.For(Alice, "alice", false, T0.AddSeconds(-10.2), T0, false));
        Assert.NotEqual(Rolling(Alice), Rolling(Alice, seconds: 20));
        Assert.NotEqual(Rolling(Alice), UsageReadKey.For(Alice, "alice", true, T0.AddSeconds(-10), T0, false));
        var absolute = UsageReadKey.For(Alice, "alice", false, T0.AddSeconds(-10), T0, true);
        Assert.NotEqual(Rolling(Alice), absolute);
        Assert.NotEqual(absolute, UsageReadKey.For(Alice, "alice", false, T0.AddSeconds(-9), T0.AddSeconds(1), true));
    }

    /// <summary>A store that holds per-principal totals and fails like an unreachable PostgreSQL while <see cref="Down"/>.</summary>
    private sealed class SwitchableStore : IUsageStore
    {
        public InMemoryUsageStore Inner { get; } = new();

        public volatile bool Down;

        public Task<UsageStoreIdentity> GetIdentityAsync(CancellationToken cancellationToken) => Inner.GetIdentityAsync(cancellationToken);

        public Task WriteAsync(IReadOnlyList<UsageEvent> batch, CancellationToken cancellationToken) => Inner.WriteAsync(batch, cancellationToken);

        public Task<UsageReport> GetUsageAsync(UsageQuery query, CancellationToken cancellationToken) =>
            Down ? Task.FromException<UsageReport>(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused)))
                : Inner.GetUsageAsync(query, cancellationToken);

        public Task<IReadOnlyList<UsageEvent>> ListAsync(string? principalId, (DateTimeOffset CreatedAt, string ExecutionId)? after, int limit, CancellationToken cancellationToken) =>
            Inner.ListAsync(principalId, after, limit, cancellationToken);

        public Task<MonthSpend> MonthSpendAsync(string? keyId, string userId, DateTimeOffset monthStart, CancellationToken cancellationToken) =>
            Inner.MonthSpendAsync(keyId, userId, monthStart, cancellationToken);

        public Task<long> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => Inner.PurgeAsync(cutoff, cancellationToken);
    }

    private sealed class Callers : ICallerAccessor
    {
        public CallerIdentity Current { get; set; } = Alice;

        public CallerIdentity Get(ServerCallContext context) => Current;
    }

    [Fact]
    public async Task GetUsage_StoreDown_OwnLastAnswerStaleOthersUnavailableThenFresh()
    {
        var time = new FakeTimeProvider(T0);
        using var metrics = new MetricsCapture(time);
        var store = new SwitchableStore();
        await store.WriteAsync(
        [
            new UsageEvent { ExecutionId = "a1", CreatedAt = T0.AddDays(-1), PrincipalId = "alice", Status = 1 },
            new UsageEvent { ExecutionId = "a2", CreatedAt = T0.AddDays(-1), PrincipalId = "alice", Status = 1 },
            new UsageEvent { ExecutionId = "b1", CreatedAt = T0.AddDays(-1), PrincipalId = "bob", Status = 1 },
        ], CancellationToken.None);
        var callers = new Callers();
        var api = new UsageApi(store, callers, time, Cache(time, metrics: metrics));
        var context = new TestServerCallContext("/monkeycoder.v1.UsageService/GetUsage");

        var fresh = await api.GetUsage(new GetUsageRequest(), context);
        Assert.False(fresh.Stale);
        Assert.Equal(2, fresh.Totals.Executions);
        Assert.Equal(T0, fresh.AsOf.ToDateTimeOffset());

        time.Advance(TimeSpan.FromSeconds(30));
        store.Down = true;
        var stale = await api.GetUsage(new GetUsageRequest(), context);
        Assert.True(stale.Stale);
        Assert.Equal(T0, stale.AsOf.ToDateTimeOffset());
        Assert.Equal(2, stale.Totals.Executions);

        // Bob asks the same thing: he never had an answer, and alice's is not his.
        callers.Current = Bob;
        var refused = await Assert.ThrowsAsync<NpgsqlException>(() => api.GetUsage(new GetUsageRequest(), context));
        Assert.True(Core.Storage.StorageFailures.IsUnavailable(refused));
        // Alice asking for another range has no answer either.
        callers.Current = Alice;
        await Assert.ThrowsAsync<NpgsqlException>(() => api.GetUsage(new GetUsageRequest { Granularity = Granularity.Hour }, context));

        store.Down = false;
        time.Advance(TimeSpan.FromSeconds(5));
        var again = await api.GetUsage(new GetUsageRequest(), context);
        Assert.False(again.Stale);
        Assert.Equal(T0.AddSeconds(35), again.AsOf.ToDateTimeOffset());
        Assert.Equal(1, metrics.Read("monkeycoder.usage.stale_reads").Sum(s => s.Value));
    }
}
