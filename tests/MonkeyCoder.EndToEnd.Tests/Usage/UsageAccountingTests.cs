using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;

namespace MonkeyCoder.EndToEnd.Tests.Usage;

[Collection(StorageCollection.Name)]
public sealed class UsageAccountingTests(StorageFixture fixture)
{
    private UsageService.UsageServiceClient Usage => fixture.Usage;

    [Fact]
    public async Task GetUsage_AfterExecutions_TotalsEqualSumOfResponses()
    {
        // Counted over this test's own time range: usage of earlier tests still draining from the
        // queue (another model, another cost) must not be counted by timing.
        var since = DateTimeOffset.UtcNow.AddMilliseconds(-5);
        var responses = new List<ExecuteResponse>();
        for (var i = 0; i < 12; i++)
        {
            responses.Add(await fixture.Router.ExecuteAsync(StorageFixture.SmallTask($"usage totals {Guid.NewGuid():N} {i}")));
        }

        var usage = await fixture.WaitForUsageAsync(12, TimeSpan.FromSeconds(30), since);
        Assert.Equal(12, usage.Totals.Executions);
        Assert.Equal(responses.Sum(r => r.Usage.InputTokens), usage.Totals.InputTokens);
        Assert.Equal(responses.Sum(r => r.Usage.OutputTokens), usage.Totals.OutputTokens);
        Assert.Equal(responses.Sum(r => r.Usage.CostUsd), usage.Totals.CostUsd, 6);
        Assert.Contains(usage.ByProvider, b => b.Key == "simulated");
        Assert.Contains(usage.ByTaskType, b => b.Key == nameof(TaskType.CodeGeneration));
        Assert.NotEmpty(usage.Buckets);
        Assert.True(usage.Totals.LatencyP95.ToTimeSpan() >= usage.Totals.LatencyP50.ToTimeSpan());

        // Every execution is listed, with its attempt, newest first, across pages.
        var listed = new List<ExecutionRecord>();
        var token = "";
        do
        {
            var page = await Usage.ListExecutionsAsync(new ListExecutionsRequest { PageSize = 5, PageToken = token });
            listed.AddRange(page.Executions);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Superset(responses.Select(r => r.ExecutionId).ToHashSet(), listed.Select(e => e.ExecutionId).ToHashSet());
        Assert.Equal(listed.Count, listed.Select(e => e.ExecutionId).Distinct().Count());
        Assert.All(listed.Where(e => responses.Any(r => r.ExecutionId == e.ExecutionId)), e => Assert.Single(e.Attempts));
    }

    [Fact]
    public async Task GetUsage_InvalidRange_InvalidArgument()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Usage.GetUsageAsync(new GetUsageRequest
        {
            StartTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow),
            EndTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow.AddDays(-1)),
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
    }
}
