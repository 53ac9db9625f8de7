using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Tests.Execution;

public sealed class CircuitBreakerTests
{
    private const string Key = "a/m1";
    private static readonly CatalogModel M1 = TestCatalog.Model("m1", "a");
    private static readonly CatalogModel M2 = TestCatalog.Model("m2", "b");

    private static (CircuitBreaker Breaker, FakeTimeProvider Time) Create(ICircuitBreakerStore? store = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = Options.Create(new ExecutionOptions { BreakerFailureThreshold = 3, BreakerBreakMs = 10_000, BreakerProbeLeaseMs = 5_000 });
        return (new CircuitBreaker(store ?? new InMemoryCircuitBreakerStore(), time, options, NullLogger<CircuitBreaker>.Instance), time);
    }

    private static async Task<CircuitState> StateOf(CircuitBreaker breaker) =>
        (await breaker.DescribeAsync([Key], CancellationToken.None))[Key].State;

    [Fact]
    public async Task OnFailureAsync_ConsecutiveFailuresReachThreshold_Opens()
    {
        var (breaker, _) = Create();
        await breaker.OnFailureAsync(Key, ProviderErrorClass.Overloaded, CancellationToken.None);
        await breaker.OnFailureAsync(Key, ProviderErrorClass.Timeout, CancellationToken.None);
        Assert.Equal(CircuitState.Closed, await StateOf(breaker));
        Assert.True((await breaker.AcquireAsync(Key, CancellationToken.None)).Allowed);

        await breaker.OnFailureAsync(Key, ProviderErrorClass.ConnectionReset, CancellationToken.None);
        Assert.Equal(CircuitState.Open, await StateOf(breaker));
        var permit = await breaker.AcquireAsync(Key, CancellationToken.None);
        Assert.False(permit.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(10), permit.RetryAfter);
    }

    [Fact]
    public async Task OnFailureAsync_RateLimitedWithRetryAfter_HeldOpenThatLongThenOneProbe()
    {
        var (breaker, time) = Create();
        await breaker.OnFailureAsync(Key, ProviderErrorClass.RateLimited, TimeSpan.FromSeconds(120), CancellationToken.None);

        // One failure, far below the threshold of 3, yet nobody may call before the provider's time.
        var held = await breaker.AcquireAsync(Key, CancellationToken.None);
        Assert.False(held.Allowed);
        Assert.InRange(held.RetryAfter, TimeSpan.FromSeconds(119), TimeSpan.FromSeconds(120));
        time.Advance(TimeSpan.FromSeconds(119));
        Assert.False((await breaker.AcquireAsync(Key, CancellationToken.None)).Allowed);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await breaker.AcquireAsync(Key, CancellationToken.None)).IsProbe);
        Assert.False((await breaker.AcquireAsync(Key, CancellationToken.None)).Allowed);
        await breaker.OnSuccessAsync(Key, CancellationToken.None);
        Assert.Equal(CircuitState.Closed, await StateOf(breaker));
    }

    [Fact]
    public async Task OnFailureAsync_RetryAfterShorterThanOpenBreak_DoesNotShortenIt()
    {
        var (breaker, _) = Create();
        for (var i = 0; i < 3; i++)
        {
            await breaker.OnFailureAsync(Key, ProviderErrorClass.Overloaded, CancellationToken.None);
        }

        await breaker.OnFailureAsync(Key, ProviderErrorClass.Overloaded, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.InRange((await breaker.AcquireAsync(Key, CancellationToken.None)).RetryAfter, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData(nameof(ProviderErrorClass.InvalidRequest))]
    [InlineData(nameof(ProviderErrorClass.Timeout))]
    public async Task OnFailureAsync_RetryAfterWithOtherClasses_NotHeldOpen(string errorClassName)
    {
        var errorClass = Enum.Parse<ProviderErrorClass>(errorClassName);
        var (breaker, _) = Create();
        await breaker.OnFailureAsync(Key, errorClass, TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.True((await breaker.AcquireAsync(Key, CancellationToken.None)).Allowed);
    }

    [Fact]
    public async Task OnSuccessAsync_BetweenFailures_ResetsCount()
    {
        var (breaker, _) = Create();
        await breaker.OnFailureAsync(Key, ProviderErrorClass.Overloaded, CancellationToken.None);
        await breaker.OnFailureAsync(Key, ProviderErrorClass.Overloaded, CancellationToken.None);
        await breaker.OnSuccessAsync(Key, CancellationToken.None);
        await breaker.OnFailureAsync(Key, ProviderErrorClass.Overloaded, CancellationToken.None);
        Assert.Equal(CircuitState.Closed, await StateOf(breaker));
    }

    [Fact]
    public async Task OnFailureAsync_RequestCausedFailures_DoNotCount()
    {
        var (breaker, _) = Create();
        for (var i = 0; i < 5; i++)
        {
            await breaker.OnFailureAsync(Key, ProviderErrorClass.ContextLengthExceeded, CancellationToken.None);
            await breaker.OnFailureAsync(Key, ProviderErrorClass.ContentFiltered, CancellationToken.None);
            await breaker.OnFailureAsync(Key, ProviderErrorClass.InvalidRequest, CancellationToken.None);
        }

        Assert.Equal(CircuitState.Closed, await StateOf(breaker));
    }

    [Fact]
    public async Task AcquireAsync_AfterBreak_OneProbeThenSuccessCloses()
    {
        var (breaker, time) = Create();
        for (var i = 0; i < 3; i++)
        {
            await breaker.OnFailureAsync(Key, ProviderErrorClass.Overloaded, CancellationToken.None);
        }

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(CircuitState.HalfOpen, await StateOf(breaker));
        var probe = await breaker.AcquireAsync(Key, CancellationToken.None);
        Assert.True(probe is { Allowed: true, IsProbe: true });
        // While the probe is out, nobody else goes.
        Assert.False((await breaker.AcquireAsync(Key, CancellationToken.None)).Allowed);

        await breaker.OnSuccessAsync(Key, CancellationToken.None);
        Assert.Equal(CircuitState.Closed, await StateOf(breaker));
        Assert.Equal(BreakerPermit.Closed, await breaker.AcquireAsync(Key, CancellationToken.None));
    }

    [Fact]
    public async Task AcquireAsync_ProbeFails_ReopensForAnotherBreak()
    {
        var (breaker, time) = Create();
        for (var i = 0; i < 3; i++)
        {
            await breaker.OnFailureAsync(Key, ProviderErrorClass.Overloaded, CancellationToken.None);
        }

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True((await breaker.AcquireAsync(Key, CancellationToken.None)).IsProbe);
        await breaker.OnFailureAsync(Key, ProviderErrorClass.Overloaded, CancellationToken.None);
        Assert.Equal(CircuitState.Open, await StateOf(breaker));
        Assert.Equal(TimeSpan.FromSeconds(10), (await breaker.AcquireAsync(Key, CancellationToken.None)).RetryAfter);
    }

    [Fact]
    public async Task AcquireAsync_ProbeNeverReports_LeaseExpiresAndAnotherMayProbe()
    {
        var (breaker, time) = Create();
        for (var i = 0; i < 3; i++)
        {
            await breaker.OnFailureAsync(Key, ProviderErrorClass.Overloaded, CancellationToken.None);
        }

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True((await breaker.AcquireAsync(Key, CancellationToken.None)).IsProbe);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.True((await breaker.AcquireAsync(Key, CancellationToken.None)).IsProbe);
    }

    [Fact]
    public async Task ExecuteAsync_PrimaryCircuitOpen_ServedByNextWithoutCallingPrimaryThenRecovers()
    {
        var options = new ExecutionOptions { MaxRetriesPerCandidate = 0, BreakerFailureThreshold = 2, BreakerBreakMs = 30_000 };
        var h = new HarnessBuilder(options)
            .Add("a", [new Step.Fail(ProviderErrorClass.Overloaded), new Step.Fail(ProviderErrorClass.Overloaded), Step.Text("a is back")])
            .Add("b", [])
            .Build(out var p);
        var plan = Harness.Plan(M1, M2);

        Assert.Equal("m2", (await h.ExecuteAsync(plan)).Model.Id);
        Assert.Equal("m2", (await h.ExecuteAsync(plan)).Model.Id);
        Assert.Equal(2, p[0].Calls);

        // Open: the primary is skipped, not called, and the answer comes from the next candidate.
        var whileOpen = await h.ExecuteAsync(plan);
        Assert.Equal("m2", whileOpen.Model.Id);
        Assert.Equal(2, p[0].Calls);
        Assert.Equal(["ok"], whileOpen.Attempts.Select(x => x.Outcome));

        // After the break a probe goes to the primary; its success closes the circuit.
        h.Time.Advance(TimeSpan.FromSeconds(30));
        var probe = await h.ExecuteAsync(plan);
        Assert.Equal("m1", probe.Model.Id);
        Assert.Equal("a is back", probe.Content);
        Assert.Equal(CircuitState.Closed, (await h.Breaker.DescribeAsync([M1.Key], CancellationToken.None))[M1.Key].State);
    }

    [Fact]
    public async Task ExecuteAsync_EveryCircuitOpen_FailsFastWithRetryAfter()
    {
        var options = new ExecutionOptions { MaxRetriesPerCandidate = 0, BreakerFailureThreshold = 1, BreakerBreakMs = 20_000 };
        var h = new HarnessBuilder(options)
            .Add("a", [new Step.Fail(ProviderErrorClass.Overloaded)])
            .Add("b", [new Step.Fail(ProviderErrorClass.Overloaded)])
            .Build(out var p);
        // Nothing here waits on the clock: keep it still, so a slow continuation on a busy machine
        // cannot move it between the two circuits opening and the check (that read 19.9 s once).
        h.StepSize = TimeSpan.Zero;
        await Assert.ThrowsAsync<ProviderException>(() => h.ExecuteAsync(Harness.Plan(M1, M2)));

        var ex = await Assert.ThrowsAsync<ProviderException>(() => h.ExecuteAsync(Harness.Plan(M1, M2)));
        Assert.Equal("circuit_open", ex.ProviderCode);
        Assert.Equal(TimeSpan.FromSeconds(20), ex.RetryAfter);
        Assert.Equal(1, p[0].Calls);
        Assert.Equal(1, p[1].Calls);
    }

    private static RoutePlan ReadClosedAt(RoutePlan plan, long readAt) =>
        plan with { Candidates = [.. plan.Candidates.Select(c => c with { CircuitClosedAt = readAt })] };

    [Fact]
    public async Task ExecuteAsync_PlanReadTheCircuitClosedMomentsAgo_FirstAttemptTakesThatReadingStaleOneReadsAgain()
    {
        var options = new ExecutionOptions { MaxRetriesPerCandidate = 0 };
        var h = new HarnessBuilder(options).Add("a", []).Add("b", []).Build(out var p);
        h.StepSize = TimeSpan.Zero;
        // Opened by another replica after the router's reading: the store says open.
        await h.BreakerStore.HoldOpenAsync(M1.Key, h.Time.GetUtcNow().AddMinutes(1).ToUnixTimeMilliseconds(), CancellationToken.None);

        var fresh = await h.ExecuteAsync(ReadClosedAt(Harness.Plan(M1, M2), h.Breaker.Timestamp()));
        Assert.Equal("m1", fresh.Model.Id);
        Assert.Equal(1, p[0].Calls);

        // Its success closed the circuit; opened again elsewhere, read by a plan that is now too old.
        await h.BreakerStore.HoldOpenAsync(M1.Key, h.Time.GetUtcNow().AddMinutes(1).ToUnixTimeMilliseconds(), CancellationToken.None);
        var readAt = h.Breaker.Timestamp();
        h.Time.Advance(CircuitBreaker.ReadingFreshness);
        var stale = await h.ExecuteAsync(ReadClosedAt(Harness.Plan(M1, M2), readAt));
        Assert.Equal("m2", stale.Model.Id);
        Assert.Equal(1, p[0].Calls);

        var unread = await h.ExecuteAsync(Harness.Plan(M1, M2));
        Assert.Equal("m2", unread.Model.Id);
        Assert.Equal(1, p[0].Calls);
    }

    [Fact]
    public async Task ExecuteAsync_FreshReadingThenFailureOpensCircuit_RetryReadsTheStoreAndFailsOver()
    {
        var options = new ExecutionOptions { MaxRetriesPerCandidate = 2, BreakerFailureThreshold = 1, BreakerBreakMs = 30_000, RetryBaseDelayMs = 10, RetryMaxDelayMs = 10 };
        var h = new HarnessBuilder(options)
            .Add("a", [new Step.Fail(ProviderErrorClass.Overloaded), Step.Text("a retried")])
            .Add("b", [])
            .Build(out var p);
        h.StepSize = TimeSpan.FromMilliseconds(5);

        var outcome = await h.ExecuteAsync(ReadClosedAt(Harness.Plan(M1, M2), h.Breaker.Timestamp()));
        Assert.Equal("m2", outcome.Model.Id);
        Assert.Equal(1, p[0].Calls);
    }
}
