using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Usage;

/// <summary>
/// GetUsage while the shared PostgreSQL is stopped (the outage collection: runs alone): each caller
/// gets their own last answer back, marked stale; a caller without one gets UNAVAILABLE with
/// RetryInfo; once PostgreSQL is back the answers are fresh again and include what ran meanwhile.
/// </summary>
[Collection(OutageCollection.Name)]
public sealed class UsageStaleReadTests(OutageFixture fixture)
{
    private const string Password = "correct horse battery";

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(20);

    /// <summary>The last hour, ending now: the same request shape each time it is asked.</summary>
    private static GetUsageRequest LastHour() => new() { StartTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)) };

    /// <summary>A developer of their own (signed up) and a channel with a fresh API key of theirs.</summary>
    private async Task<GrpcChannel> DeveloperAsync(string name)
    {
        using var anonymous = GrpcChannel.ForAddress(fixture.Host.Address);
        var signUp = await new AuthService.AuthServiceClient(anonymous).SignUpAsync(
            new SignUpRequest { Email = $"{name}-{Guid.NewGuid():N}@example.test", Password = Password, DisplayName = name }, deadline: Deadline);
        using var session = ServiceFixture.AuthenticatedChannel(fixture.Host.Address, signUp.Tokens.AccessToken);
        var key = await new ApiKeyService.ApiKeyServiceClient(session).CreateApiKeyAsync(new CreateApiKeyRequest { Name = name }, deadline: Deadline);
        return ServiceFixture.AuthenticatedChannel(fixture.Host.Address, key.Secret);
    }

    private static async Task RunAsync(GrpcChannel channel, string who, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var answer = await new RouterService.RouterServiceClient(channel).ExecuteAsync(StorageFixture.SmallTask($"{who} {i} {Guid.NewGuid():N}"), deadline: Deadline);
            Assert.Equal(ExecutionStatus.Completed, answer.Status);
        }
    }

    /// <summary>Polls (bounded) until a fresh answer counts <paramref name="executions"/>.</summary>
    private static async Task<GetUsageResponse> FreshAsync(GrpcChannel channel, long executions)
    {
        var usage = new UsageService.UsageServiceClient(channel);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        GetUsageResponse? last = null;
        while (watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                last = await usage.GetUsageAsync(LastHour(), deadline: Deadline);
                if (!last.Stale && last.Totals.Executions == executions)
                {
                    return last;
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                // PostgreSQL still starting.
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException($"no fresh answer counting {executions} executions within 60 s; last: {last}");
    }

    [Fact]
    public async Task GetUsage_PostgresDown_CallersLastAnswerServedStaleOthersUnavailableThenFreshAgain()
    {
        using var alice = await DeveloperAsync("alice");
        using var bob = await DeveloperAsync("bob");
        using var carol = await DeveloperAsync("carol");
        await RunAsync(alice, "alice", 3);
        await RunAsync(bob, "bob", 1);
        await RunAsync(carol, "carol", 2);

        // Alice and bob read their usage before the outage; carol does not.
        var aliceBefore = await FreshAsync(alice, 3);
        var bobBefore = await FreshAsync(bob, 1);
        Assert.NotNull(aliceBefore.AsOf);
        Assert.True(Math.Abs((aliceBefore.AsOf.ToDateTimeOffset() - DateTimeOffset.UtcNow).TotalSeconds) < 30, $"as_of {aliceBefore.AsOf} is not now");

        GetUsageResponse aliceStale, bobStale;
        RpcException carolRefused;
        try
        {
            await TestServers.StopPostgresAsync();
            // Executions go on (the keys were validated before); their usage waits in the queue.
            await RunAsync(alice, "alice during the outage", 1);

            aliceStale = await new UsageService.UsageServiceClient(alice).GetUsageAsync(LastHour(), deadline: Deadline);
            bobStale = await new UsageService.UsageServiceClient(bob).GetUsageAsync(LastHour(), deadline: Deadline);
            carolRefused = await Assert.ThrowsAsync<RpcException>(() =>
                new UsageService.UsageServiceClient(carol).GetUsageAsync(LastHour(), deadline: Deadline).ResponseAsync);
        }
        finally
        {
            await TestServers.StartPostgresAsync();
        }

        // Each caller's own last answer, marked stale, as of when it was read.
        Assert.True(aliceStale.Stale);
        Assert.Equal(aliceBefore.AsOf, aliceStale.AsOf);
        Assert.Equal(3, aliceStale.Totals.Executions);
        Assert.Equal(aliceBefore.Totals, aliceStale.Totals);
        Assert.Equal(aliceBefore.ByModel, aliceStale.ByModel);
        Assert.True(bobStale.Stale);
        Assert.Equal(bobBefore.AsOf, bobStale.AsOf);
        Assert.Equal(1, bobStale.Totals.Executions);

        // Carol had no answer: the same request, and alice's or bob's answer is not hers.
        Assert.Equal(StatusCode.Unavailable, carolRefused.StatusCode);
        Assert.Equal("STORAGE_UNAVAILABLE", carolRefused.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>().Reason);
        Assert.NotNull(carolRefused.GetRpcStatus()!.GetDetail<Google.Rpc.RetryInfo>());

        using (var http = new HttpClient { BaseAddress = fixture.Host.MetricsAddress, Timeout = TimeSpan.FromSeconds(15) })
        {
            var metrics = await http.GetStringAsync("/metrics");
            var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("monkeycoder_usage_stale_reads_total", StringComparison.Ordinal));
            Assert.True(line is not null && double.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture) >= 2, $"stale reads metric: {line ?? "missing"}");
        }

        // PostgreSQL back: fresh answers again, with the execution of the outage counted.
        var aliceAfter = await FreshAsync(alice, 4);
        Assert.False(aliceAfter.Stale);
        Assert.True(aliceAfter.AsOf.ToDateTimeOffset() > aliceStale.AsOf.ToDateTimeOffset());
        var carolAfter = await FreshAsync(carol, 2);
        Assert.False(carolAfter.Stale);
        Report.Write("usage-stale-read-served-executions", aliceStale.Totals.Executions);
    }
}
