using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Caching;
using MonkeyCoder.Core.Sessions;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Tests.Execution;

/// <summary>
/// A continuation starts only while the call's cost so far plus its worst case (whole input, the
/// rest of max_tokens, at the model's prices) fits <see cref="ExecutionScope.CostCeilingUsd"/>.
/// </summary>
public sealed class RecoveryCostCeilingTests
{
    // $1,000 / $4,000 per 1M tokens: a continuation's worst case (~4,000 output tokens) is ~$16.
    private static readonly CatalogModel Expensive = TestCatalog.Model("big", "p1", price: 1000);

    // $0.01 / $0.04 per 1M tokens: well under a cent.
    private static readonly CatalogModel Cheap = TestCatalog.Model("small", "p2", price: 0.01);

    private static readonly string Text = string.Concat(Enumerable.Range(1, 60).Select(i => $"w{i:0000} "));

    private static async Task<(List<ExecutionEvent> Events, ExecutionScope Scope, Exception? Error)> Run(Harness harness, double? ceiling, params CatalogModel[] models)
    {
        var events = new List<ExecutionEvent>();
        ExecutionScope? scope = null;
        try
        {
            await harness.Drive(Collect());
        }
        catch (ProviderException ex)
        {
            return (events, scope!, ex);
        }

        return (events, scope!, null);

        async Task<int> Collect()
        {
            await foreach (var e in harness.Engine.StreamAsync(Harness.Plan(models), "exec_ceiling", CancellationToken.None, started: s =>
            {
                s.CostCeilingUsd = ceiling;
                scope = s;
            }))
            {
                events.Add(e);
            }

            return events.Count;
        }
    }

    private static Harness HarnessFor(params IProviderClient[] providers) =>
        new(new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), new ExecutionOptions { RetryBaseDelayMs = 0, RetryMaxDelayMs = 0 }, null, providers);

    [Fact]
    public async Task StreamAsync_SameModelContinuationOverCeiling_CheaperNextCandidateContinues()
    {
        var p1 = new CanonicalProvider("p1", Text, 100, [6]);
        var p2 = new CanonicalProvider("p2", Text, int.MaxValue, [6]);

        var (events, scope, error) = await Run(HarnessFor(p1, p2), ceiling: 1.0, Expensive, Cheap);

        Assert.Null(error);
        var outcome = events[^1].Completed!;
        Assert.True(outcome.Recovered);
        Assert.Equal(Text, outcome.Content);
        Assert.Equal(1, p1.Calls);
        Assert.Equal(1, p2.Calls);
        Assert.Equal(["p1/big", "p2/small"], outcome.Attempts.Select(a => a.Model.Key));
        Assert.InRange(scope.SpentUsd, 0.000001, 1.0);
    }

    [Fact]
    public async Task StreamAsync_NoContinuationFitsTheCeiling_TheBreakStandsAndNothingMoreIsSpent()
    {
        var p1 = new CanonicalProvider("p1", Text, 100, [6]);
        var p2 = new CanonicalProvider("p2", Text, int.MaxValue, [6]);

        var (events, scope, error) = await Run(HarnessFor(p1, p2), ceiling: 0.000001, Expensive, Cheap);

        var failure = Assert.IsType<ProviderException>(error);
        Assert.Equal(ProviderErrorClass.StreamCut, failure.ErrorClass);
        Assert.DoesNotContain(events, e => e.Completed is not null);
        Assert.Equal(Text[..100], string.Concat(events.Select(e => e.Delta)));
        Assert.Equal(1, p1.Calls);
        Assert.Equal(0, p2.Calls);
        Assert.Single(scope.Attempts);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(100.0)]
    public async Task StreamAsync_NoCeilingOrRoomEnough_SameModelContinues(double? ceiling)
    {
        var p1 = new CanonicalProvider("p1", Text, 100, [6]);

        var (events, _, error) = await Run(HarnessFor(p1), ceiling, Expensive);

        Assert.Null(error);
        Assert.Equal(Text, events[^1].Completed!.Content);
        Assert.Equal(2, p1.Calls);
    }

    /// <summary>A budget hold of a fixed amount, as the limits take it at admission.</summary>
    private sealed class FixedHold(double usd) : IBudgetHold
    {
        public double? HeldUsd => usd;

        public ValueTask ReserveAsync(Core.Routing.RoutePlan plan, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private static TaskExecutor Executor(Harness harness, params CatalogModel[] models)
    {
        var statistics = new CacheStatistics();
        var cacheOptions = Options.Create(new CacheOptions { Enabled = false });
        var usage = new UsageQueue(Options.Create(new UsageOptions()), new InMemoryUsageStore());
        return new TaskExecutor(harness.Engine, TestCatalog.Of(models), new MemoryResponseCache(cacheOptions, statistics, harness.Time), statistics, cacheOptions,
            new InMemorySessionStore(Options.Create(new SessionOptions()), harness.Time), usage, harness.Time, NullLogger<TaskExecutor>.Instance, harness.Stats);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TaskExecutor_CallsBudgetHoldIsTheRecoveryCeiling(bool unary)
    {
        var caller = new CallerIdentity("user_1", "key_1", false);

        // A hold too small for any continuation: the break stands, nothing more is spent.
        var small = new CanonicalProvider("p1", Text, 100, [6]);
        var harness = HarnessFor(small);
        var charge = new UsageCharge { Budget = new FixedHold(0.000001) };
        var failed = await Assert.ThrowsAsync<ProviderException>(() => RunThrough(Executor(harness, Expensive), harness, caller, charge, unary));
        Assert.Equal(ProviderErrorClass.StreamCut, failed.ErrorClass);
        Assert.Equal(1, small.Calls);

        // A hold with room: the same model continues and the caller gets the whole answer.
        var roomy = new CanonicalProvider("p1", Text, 100, [6]);
        harness = HarnessFor(roomy);
        var outcome = await RunThrough(Executor(harness, Expensive), harness, caller, new UsageCharge { Budget = new FixedHold(100) }, unary);
        Assert.True(outcome.Recovered);
        Assert.Equal(Text, outcome.Content);
        Assert.Equal(2, roomy.Calls);
    }

    private static async Task<ExecutionOutcome> RunThrough(TaskExecutor executor, Harness harness, CallerIdentity caller, UsageCharge charge, bool unary)
    {
        ExecutionOutcome? outcome = null;
        await harness.Drive(Go());
        return outcome!;

        async Task<int> Go()
        {
            if (unary)
            {
                outcome = await executor.ExecuteAsync(Harness.Plan(Expensive), "exec_hold", caller, CancellationToken.None, charge: charge);
                return 1;
            }

            await foreach (var e in executor.StreamAsync(Harness.Plan(Expensive), "exec_hold", caller, CancellationToken.None, charge: charge))
            {
                outcome = e.Completed ?? outcome;
            }

            return 1;
        }
    }
}
