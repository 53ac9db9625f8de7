using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Usage;

/// <summary>
/// Stops the shared PostgreSQL server: runs alone, after every parallel collection. The usage
/// queue is as small as allowed (and batches small), so an outage overflows it to the spill file.
/// </summary>
public sealed class OutageFixture() : StorageFixture(4)
{
    public const int QueueCapacity = 100;

    protected override IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>(base.Environment)
    {
        ["MonkeyCoder__Usage__QueueCapacity"] = QueueCapacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["MonkeyCoder__Usage__BatchSize"] = "10",
    };

    /// <summary>Spill files waiting for replay (or being replayed).</summary>
    public IReadOnlyList<string> SpillFiles() =>
        Directory.Exists(SpillPath) ? Directory.GetFiles(SpillPath) : [];
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OutageCollection : ICollectionFixture<OutageFixture>
{
    public const string Name = "postgres-outage";
}

[Collection(OutageCollection.Name)]
public sealed class UsageOutageTests(OutageFixture fixture)
{
    private UsageService.UsageServiceClient Usage => fixture.Usage;

    [Fact]
    public async Task Usage_PostgresDownUntilTheQueueSpills_SpillReplayedAndNoEventLost()
    {
        var before = (await Usage.GetUsageAsync(new GetUsageRequest())).Totals.Executions;
        var succeeded = 0;
        var failed = 0;
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(async worker =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await fixture.Router.ExecuteAsync(StorageFixture.SmallTask($"outage {worker} {i++} {Guid.NewGuid():N}"), deadline: DateTime.UtcNow.AddSeconds(10));
                    Interlocked.Increment(ref succeeded);
                }
                catch (RpcException)
                {
                    // Executions do not need PostgreSQL, and the caller's key was validated before the outage.
                    Interlocked.Increment(ref failed);
                }
            }
        }).ToList();

        await Task.Delay(700);
        await TestServers.StopPostgresAsync();
        // A key never validated before cannot be checked now: UNAVAILABLE with RetryInfo, not INTERNAL.
        using (var stranger = ServiceFixture.AuthenticatedChannel(fixture.Host.Address, "mk_unknown000_" + Guid.NewGuid().ToString("N")))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => new RouterService.RouterServiceClient(stranger)
                .ExecuteAsync(StorageFixture.SmallTask("stranger"), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
            Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
            Assert.Equal("STORAGE_UNAVAILABLE", refused.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>().Reason);
            Assert.NotNull(refused.GetRpcStatus()!.GetDetail<Google.Rpc.RetryInfo>());
        }

        // Down until the in-memory queue overflowed to disk (bounded), then a little longer.
        var spilled = false;
        try
        {
            for (var i = 0; i < 300 && !spilled; i++)
            {
                await Task.Delay(100);
                spilled = fixture.SpillFiles().Count > 0;
            }

            await Task.Delay(500);
        }
        finally
        {
            await TestServers.StartPostgresAsync();
        }

        Assert.True(spilled, $"the usage queue ({OutageFixture.QueueCapacity}) never spilled to disk during the outage");
        await Task.Delay(700);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        var usage = await fixture.WaitForUsageAsync(before + succeeded, TimeSpan.FromSeconds(60));
        Report.Write("usage-outage-successful-executions", succeeded);
        Report.Write("usage-outage-events-recorded", usage.Totals.Executions - before);
        Assert.True(succeeded > 20, $"the load produced only {succeeded} executions");
        Assert.Equal(before + succeeded, usage.Totals.Executions);
        Assert.Equal(0, failed);
        Assert.Equal(0, usage.Totals.Failed);
        Assert.True(fixture.Host.Output.Any(l => l.Contains("Usage writes recovered", StringComparison.Ordinal)), "the writer never saw the outage");
        Assert.True(fixture.Host.Output.Any(l => l.Contains("spilled usage events", StringComparison.Ordinal) && l.Contains("Replayed", StringComparison.Ordinal)), "the spill was never replayed");
        // The replayed file is deleted just after its last write is counted: allow it a moment.
        for (var i = 0; i < 50 && fixture.SpillFiles().Count > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(fixture.SpillFiles());
    }
}
