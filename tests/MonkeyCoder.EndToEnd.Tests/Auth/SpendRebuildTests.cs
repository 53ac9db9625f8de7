using Microsoft.Extensions.Logging.Abstractions;
using MonkeyCoder.Core.Limits;
using MonkeyCoder.Core.Storage;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;
using Npgsql;
using StackExchange.Redis;

namespace MonkeyCoder.EndToEnd.Tests.Auth;

/// <summary>
/// The shared limiter rebuilding a month's spend that Redis lost, from usage in PostgreSQL: the store's query, two
/// replicas rebuilding at once, settlements before and after the rebuild, and PostgreSQL down. Real Redis and PostgreSQL.
/// </summary>
public sealed class SpendRebuildTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(1);

    private static UsageEvent Event(string user, string? key, double billedUsd, DateTimeOffset at) => new()
    {
        ExecutionId = Guid.NewGuid().ToString("N"),
        CreatedAt = at,
        PrincipalId = user,
        ApiKeyId = key,
        Provider = "simulated",
        Model = "sim-fast",
        Status = (int)ExecutionStatus.Completed,
        CostUsd = billedUsd,
        BilledCostUsd = billedUsd,
    };

    private static Task<ConnectionMultiplexer> RedisAsync() =>
        ConnectionMultiplexer.ConnectAsync(TestServers.RedisUrl.Replace("redis://", "", StringComparison.Ordinal));

    [Fact]
    public async Task RedisRateLimiter_SpendMissingWhileTwoReplicasReserveAndCallsSettle_RebuiltOnceFromPostgresAndNothingLost()
    {
        var databaseUrl = await TestServers.CreateDatabaseAsync();
        await using var dataSource = TestServices.Open(databaseUrl);
        await MigrationRunner.ApplyAsync(dataSource, NullLogger.Instance, CancellationToken.None);
        var store = new PostgresUsageStore(dataSource);
        var user = "usr_rebuild_" + Guid.NewGuid().ToString("N")[..8];
        const string Key = "key_rebuild";
        var now = DateTimeOffset.UtcNow;
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        await store.WriteAsync(
        [
            Event(user, Key, 0.000100, now.AddSeconds(-5)),
            Event(user, Key, 0.0002004, monthStart), // rounds to 200 µUSD, as a settlement does
            Event(user, Key, 0.000300, now.AddSeconds(-1)),
            Event(user, "key_other", 0.000050, now.AddSeconds(-2)),
            Event(user, null, 0.000007, now.AddSeconds(-3)),
            Event(user, Key, 0.001000, monthStart.AddTicks(-1)), // last month
            Event("usr_someone_else", Key, 0.004000, now.AddSeconds(-1)),
        ], CancellationToken.None);

        // The store's query: the key's and the user's billed spend of this month, in micro-USD.
        Assert.Equal(new MonthSpend(600, 657), await store.MonthSpendAsync(Key, user, monthStart, CancellationToken.None));
        Assert.Equal(new MonthSpend(0, 657), await store.MonthSpendAsync(null, user, monthStart, CancellationToken.None));

        // Two replicas find the spend missing and reserve at once: the rebuild is stored once, not added per replica.
        await using var redisA = await RedisAsync();
        await using var redisB = await RedisAsync();
        var replicas = new[] { new RedisRateLimiter(redisA, TimeProvider.System, usage: store), new RedisRateLimiter(redisB, TimeProvider.System, usage: store) };
        var ask = new LimitRequest("key:" + Key, "/monkeycoder.v1.RouterService/Execute", user, Key, 600, 100_000, 0, 10_000, 20_000);
        var holds = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => replicas[i % 2].ReserveAsync(ask, 10, Ttl, CancellationToken.None)));
        Assert.All(holds, h => Assert.True(h.Admitted));
        var budget = await replicas[0].GetBudgetAsync(ask, CancellationToken.None);
        Assert.Equal(600, budget.Key!.SpentMicros);
        Assert.Equal(657, budget.User.SpentMicros);

        // A settlement after the rebuild adds to it.
        var admitted = new LimitDecision(LimitVerdict.Admitted, 0, 0, TimeSpan.Zero, TimeSpan.Zero, 0);
        var settled = await replicas[1].CompleteAsync(ask, admitted, 0, 0.000025, CancellationToken.None, holds[0]);
        Assert.Equal(new SpendTotals(625, 682), settled);

        // Redis loses the user's data; a call settles before anyone rebuilds: its usage event is in PostgreSQL (the usage
        // writer stores it before or around the settlement), so the settlement leaves the missing spend alone rather than
        // start it at its own cost, and the rebuild counts it once.
        Assert.True(await SpendSafetyTests.ForgetUserAsync(user) > 0);
        await store.WriteAsync([Event(user, Key, 0.000025, now), Event(user, Key, 0.000400, now)], CancellationToken.None);
        Assert.Equal(SpendTotals.Unknown, await replicas[0].CompleteAsync(ask, admitted, 0, 0.000400, CancellationToken.None));
        budget = await replicas[1].GetBudgetAsync(ask, CancellationToken.None);
        Assert.Equal(1025, budget.Key!.SpentMicros);
        Assert.Equal(1082, budget.User.SpentMicros);

        // Rebuilt spend refuses what does not fit: the user has 20,000 - 1,082 µUSD left (the open holds went with the data).
        var refused = await replicas[0].ReserveAsync(ask with { KeyBudgetMicros = null }, 19_000, Ttl, CancellationToken.None);
        Assert.False(refused.Admitted);
        Assert.Equal("user", refused.Scope);
        Assert.Equal(20_000 - 1_082, refused.RemainingMicros);
    }

    [Fact]
    public async Task RedisRateLimiter_SpendMissingAndPostgresDown_ReservationFailsAsStorageUnavailableAndHoldsNothing()
    {
        // A data source on a port nobody listens on: PostgreSQL down.
        await using var down = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Username=postgres;Database=none;Timeout=2;Pooling=false");
        await using var redis = await RedisAsync();
        var limiter = new RedisRateLimiter(redis, TimeProvider.System, usage: new PostgresUsageStore(down));
        var user = "usr_rebuild_down_" + Guid.NewGuid().ToString("N")[..8];
        var ask = new LimitRequest("user:" + user, "/monkeycoder.v1.RouterService/Execute", user, null, 600, 100_000, 0, null, 1_000_000);

        var failure = await Assert.ThrowsAnyAsync<NpgsqlException>(() => limiter.ReserveAsync(ask, 10, Ttl, CancellationToken.None));
        Assert.True(StorageFailures.IsUnavailable(failure));
        Assert.Equal(0, await SpendSafetyTests.ForgetUserAsync(user));
    }
}
