using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Usage;

/// <summary>Stops the shared PostgreSQL server: runs alone, after every parallel collection.</summary>
public sealed class OutageFixture() : StorageFixture(4);

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
    public async Task Usage_PostgresRestartedMidLoad_NoEventLost()
    {
        var before = (await Usage.GetUsageAsync(new GetUsageRequest())).Totals.Executions;
        var succeeded = 0;
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
                    // Counted only when successful; executions do not need PostgreSQL.
                }
            }
        }).ToList();

        await Task.Delay(700);
        await TestServers.StopPostgresAsync();
        await Task.Delay(2500);
        await TestServers.StartPostgresAsync();
        await Task.Delay(700);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        var usage = await fixture.WaitForUsageAsync(before + succeeded, TimeSpan.FromSeconds(60));
        Report.Write("usage-outage-successful-executions", succeeded);
        Report.Write("usage-outage-events-recorded", usage.Totals.Executions - before);
        Assert.True(succeeded > 20, $"the load produced only {succeeded} executions");
        Assert.Equal(before + succeeded, usage.Totals.Executions);
        Assert.Equal(0, usage.Totals.Failed);
        Assert.True(fixture.Host.Output.Any(l => l.Contains("Usage writes recovered", StringComparison.Ordinal)), "the writer never saw the outage");
    }
}
