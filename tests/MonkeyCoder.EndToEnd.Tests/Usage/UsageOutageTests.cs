using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;
using System.Diagnostics;

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
    private UsageService.UsageServiceClient Usage => new(fixture.Channel);

    private static ExecuteRequest Task(string prompt, double? temperature = null)
    {
        var request = new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = prompt, MaxTokens = 40 };
        if (temperature is { } t)
        {
            request.Temperature = t;
        }

        return request;
    }

    /// <summary>Polls (bounded) until GetUsage counts at least <paramref name="executions"/>.</summary>
    private async Task<GetUsageResponse> WaitForUsageAsync(long executions, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        GetUsageResponse usage;
        do
        {
            usage = await Usage.GetUsageAsync(new GetUsageRequest { Granularity = Granularity.Hour });
            if (usage.Totals.Executions >= executions)
            {
                return usage;
            }

            await System.Threading.Tasks.Task.Delay(100);
        }
        while (watch.Elapsed < timeout);

        return usage;
    }

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
                    await fixture.Router.ExecuteAsync(Task($"outage {worker} {i++} {Guid.NewGuid():N}"), deadline: DateTime.UtcNow.AddSeconds(10));
                    Interlocked.Increment(ref succeeded);
                }
                catch (RpcException)
                {
                    // Counted only when successful; executions do not need PostgreSQL.
                }
            }
        }).ToList();

        await System.Threading.Tasks.Task.Delay(700);
        await TestServers.StopPostgresAsync();
        await System.Threading.Tasks.Task.Delay(2500);
        await TestServers.StartPostgresAsync();
        await System.Threading.Tasks.Task.Delay(700);
        await stop.CancelAsync();
        await System.Threading.Tasks.Task.WhenAll(load);

        var usage = await WaitForUsageAsync(before + succeeded, TimeSpan.FromSeconds(60));
        Report.Write("usage-outage-successful-executions", succeeded);
        Report.Write("usage-outage-events-recorded", usage.Totals.Executions - before);
        Assert.True(succeeded > 20, $"the load produced only {succeeded} executions");
        Assert.Equal(before + succeeded, usage.Totals.Executions);
        Assert.Equal(0, usage.Totals.Failed);
        Assert.True(fixture.Host.Output.Any(l => l.Contains("Usage writes recovered", StringComparison.Ordinal)), "the writer never saw the outage");
    }
}
