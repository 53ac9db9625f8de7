using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Tests.Usage;

public sealed class UsageWriterTests : IDisposable
{
    private readonly string _spill = Path.Combine(Path.GetTempPath(), "mc-unit-spill-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>An in-memory store that fails while <see cref="Down"/> is set, like an unreachable database.</summary>
    private sealed class FlakyStore : IUsageStore
    {
        public InMemoryUsageStore Inner { get; } = new();

        public volatile bool Down;

        public UsageStoreIdentity Identity { get; init; } = new("7000000000000000001", "flaky");

        public Task<UsageStoreIdentity> GetIdentityAsync(CancellationToken cancellationToken) => Task.FromResult(Identity);

        public Task WriteAsync(IReadOnlyList<UsageEvent> batch, CancellationToken cancellationToken) =>
            Down ? Task.FromException(new IOException("database away")) : Inner.WriteAsync(batch, cancellationToken);

        public Task<UsageReport> GetUsageAsync(UsageQuery query, CancellationToken cancellationToken) => Inner.GetUsageAsync(query, cancellationToken);

        public Task<IReadOnlyList<UsageEvent>> ListAsync(string? principalId, (DateTimeOffset CreatedAt, string ExecutionId)? after, int limit, CancellationToken cancellationToken) =>
            Inner.ListAsync(principalId, after, limit, cancellationToken);

        public Task<MonthSpend> MonthSpendAsync(string? keyId, string userId, DateTimeOffset monthStart, CancellationToken cancellationToken) =>
            Inner.MonthSpendAsync(keyId, userId, monthStart, cancellationToken);

        public Task<long> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => Inner.PurgeAsync(cutoff, cancellationToken);
    }

    private IOptions<UsageOptions> Options(int capacity = 100) =>
        Microsoft.Extensions.Options.Options.Create(new UsageOptions { QueueCapacity = capacity, BatchSize = 10, BatchDelayMs = 5, SpillPath = _spill });

    private static UsageEvent Event(int i) => new() { ExecutionId = $"e{i:D5}", CreatedAt = DateTimeOffset.UtcNow, PrincipalId = "p", InputTokens = 1, OutputTokens = 2, LatencyMs = i };

    private static async Task<long> CountAsync(IUsageStore store) =>
        (await store.GetUsageAsync(new UsageQuery(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, false, null), CancellationToken.None)).Totals.Executions;

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 500 && !await condition(); i++)
        {
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Writer_StoreDownThenBack_QueueOverflowSpillsAndEveryEventIsWritten()
    {
        var store = new FlakyStore { Down = true };
        var queue = new UsageQueue(Options(capacity: 100), store);
        var writer = new UsageWriter(queue, store, Options(), TimeProvider.System, NullLogger<UsageWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);

        for (var i = 0; i < 1_000; i++)
        {
            queue.Enqueue(Event(i));
        }

        Assert.True(queue.Spilled > 0, "a full queue must spill to disk, not drop");
        store.Down = false;
        await WaitForAsync(async () => await CountAsync(store) == 1_000);
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(1_000, await CountAsync(store));
        Assert.Empty(Directory.GetFiles(_spill));
    }

    [Fact]
    public async Task Writer_StoreDownAndSpillDiskRefuses_EventsHeldInMemoryAndAllWrittenWhenStoreIsBack()
    {
        // A file where the spill folder should be: every spill write fails, as on a full disk.
        Directory.CreateDirectory(Path.GetDirectoryName(_spill)!);
        await File.WriteAllTextAsync(_spill, "not a folder");
        var store = new FlakyStore { Down = true };
        var queue = new UsageQueue(Options(capacity: 100), store);
        var writer = new UsageWriter(queue, store, Options(), TimeProvider.System, NullLogger<UsageWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);

        for (var i = 0; i < 500; i++)
        {
            queue.Enqueue(Event(i)); // never throws into the caller's request
        }

        Assert.Equal(0, queue.Spilled);
        Assert.True(queue.SpillFailures > 0);
        Assert.True(queue.Held > 0, "events the disk refused are held in memory, not dropped");
        store.Down = false;
        await WaitForAsync(async () => await CountAsync(store) == 500);
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(500, await CountAsync(store));
        Assert.Equal(0, queue.Held);
        File.Delete(_spill);
    }

    [Fact]
    public async Task Writer_StopWhileStoreDown_SpillsAndNextWriterReplays()
    {
        var store = new FlakyStore { Down = true };
        var queue = new UsageQueue(Options(), store);
        var writer = new UsageWriter(queue, store, Options(), TimeProvider.System, NullLogger<UsageWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < 50; i++)
        {
            queue.Enqueue(Event(i));
        }

        await writer.StopAsync(CancellationToken.None);
        queue.Enqueue(Event(999)); // after stop: straight to disk
        Assert.Equal(0, await CountAsync(store));
        Assert.NotEmpty(Directory.GetFiles(_spill));
        Assert.Equal(51, Directory.GetFiles(_spill).Sum(f => UsageSpillFolder.Read(f).Count));

        // "Restart": a new queue and writer over the same spill folder, database back.
        store.Down = false;
        var next = new UsageWriter(new UsageQueue(Options(), store), store, Options(), TimeProvider.System, NullLogger<UsageWriter>.Instance);
        await next.StartAsync(CancellationToken.None);
        await WaitForAsync(async () => await CountAsync(store) == 51);
        await next.StopAsync(CancellationToken.None);
        Assert.Equal(51, await CountAsync(store));
    }

    [Fact]
    public async Task Writer_SpillFilesOfAnotherDatabase_LeftAloneAndReplayedOnlyByTheirOwn()
    {
        // Database A is away while its process stops: its events go to the shared folder.
        var a = new FlakyStore { Down = true, Identity = new("7000000000000000001", "a") };
        var queueA = new UsageQueue(Options(), a);
        var writerA = new UsageWriter(queueA, a, Options(), TimeProvider.System, NullLogger<UsageWriter>.Instance);
        await writerA.StartAsync(CancellationToken.None);
        for (var i = 0; i < 30; i++)
        {
            queueA.Enqueue(Event(i) with { ExecutionId = $"a{i}" });
        }

        await writerA.StopAsync(CancellationToken.None);
        var spilled = Assert.Single(Directory.GetFiles(_spill));
        Assert.Equal(new UsageStoreIdentity("7000000000000000001", "a"), UsageSpillFolder.ReadIdentity(spilled));

        // Database B's process (same cluster, other database), busy on the same folder: never takes A's events.
        var b = new FlakyStore { Identity = new("7000000000000000001", "b") };
        var queueB = new UsageQueue(Options(), b);
        var logB = new MonkeyCoder.Tests.Infrastructure.RecordingLogger<UsageWriter>();
        var writerB = new UsageWriter(queueB, b, Options(), TimeProvider.System, logB);
        await writerB.StartAsync(CancellationToken.None);
        for (var i = 0; i < 20; i++)
        {
            queueB.Enqueue(Event(i) with { ExecutionId = $"b{i}" });
        }

        await WaitForAsync(async () => await CountAsync(b) == 20);
        await writerB.StopAsync(CancellationToken.None);
        Assert.Equal(20, await CountAsync(b));
        Assert.All(await b.ListAsync(null, null, 100, CancellationToken.None), e => Assert.StartsWith("b", e.ExecutionId, StringComparison.Ordinal));
        Assert.Equal([spilled], Directory.GetFiles(_spill));
        var leftAlone = Assert.Single(logB.Entries, r => r.EventId == MonkeyCoder.Core.Observability.EventIds.UsageSpillLeftAlone);
        Assert.Contains("Left 1 usage spill files", leftAlone.Message, StringComparison.Ordinal);

        // A's database back: its next process replays its file.
        a.Down = false;
        var writerA2 = new UsageWriter(new UsageQueue(Options(), a), a, Options(), TimeProvider.System, NullLogger<UsageWriter>.Instance);
        await writerA2.StartAsync(CancellationToken.None);
        await WaitForAsync(async () => await CountAsync(a) == 30);
        await writerA2.StopAsync(CancellationToken.None);
        Assert.Equal(30, await CountAsync(a));
        Assert.Empty(Directory.GetFiles(_spill));
    }

    [Fact]
    public async Task Queue_InProcessStoreAndNoWriter_NeverSpillsAndNothingIsLost()
    {
        var store = new InMemoryUsageStore();
        var queue = new UsageQueue(Options(capacity: 100), store);
        for (var i = 0; i < 1_000; i++)
        {
            queue.Enqueue(Event(i));
        }

        // 100 wait in the queue; the overflow went straight to the store, not to disk.
        Assert.Equal(900, await CountAsync(store));
        Assert.Equal(0, queue.Spilled);
        Assert.False(Directory.Exists(_spill));
    }

    [Fact]
    public void SpillFolder_DefaultPath_IsPerUser() =>
        Assert.EndsWith("monkey-coder-usage-spill-" + Environment.UserName, UsageSpillFolder.DefaultPath(), StringComparison.Ordinal);

    [Fact]
    public void Percentile_InterpolatesLikePostgres()
    {
        double[] values = [10, 20, 30, 40];
        Assert.Equal(25, UsageAggregation.Percentile(values, 0.5));
        Assert.Equal(38.5, UsageAggregation.Percentile(values, 0.95), 6);
    }

    [Fact]
    public async Task Retention_EventAgesPastRetentionBetweenRuns_PurgedAtStartAndOnTheNextInterval()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));
        var now = time.GetUtcNow();
        var store = new InMemoryUsageStore();
        await store.WriteAsync(
        [
            Event(1) with { ExecutionId = "old", CreatedAt = now.AddDays(-91) },
            Event(2) with { ExecutionId = "ageing", CreatedAt = now.AddDays(-90).AddMinutes(30) },
            Event(3) with { ExecutionId = "fresh", CreatedAt = now.AddDays(-1) },
        ], CancellationToken.None);
        var options = Microsoft.Extensions.Options.Options.Create(new UsageOptions { RetentionDays = 90, PurgeIntervalMinutes = 60 });
        using var retention = new UsageRetention(store, options, time, NullLogger<UsageRetention>.Instance);

        await retention.StartAsync(CancellationToken.None);
        await WaitForAsync(async () => await CountAsync(store) == 2);
        Assert.Equal(["fresh", "ageing"], (await store.ListAsync(null, null, 10, CancellationToken.None)).Select(e => e.ExecutionId));

        // An hour on (the purge interval), "ageing" is 90 days and 30 minutes old.
        time.Advance(TimeSpan.FromMinutes(60));
        await WaitForAsync(async () => await CountAsync(store) == 1);
        Assert.Equal(["fresh"], (await store.ListAsync(null, null, 10, CancellationToken.None)).Select(e => e.ExecutionId));
        await retention.StopAsync(CancellationToken.None);
    }

    public void Dispose()
    {
        if (Directory.Exists(_spill))
        {
            Directory.Delete(_spill, recursive: true);
        }
    }
}
