using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Execution;

/// <summary>The single strategy: retries, failover and every failure class, on fake time.</summary>
public sealed class ExecutionEngineTests
{
    private static readonly CatalogModel M1 = TestCatalog.Model("m1", "a");
    private static readonly CatalogModel M2 = TestCatalog.Model("m2", "b");

    private static (Harness H, FakeProvider A, FakeProvider B) Two(Step[] a, Step[] b, ExecutionOptions? options = null)
    {
        var harness = new HarnessBuilder(options).Add("a", a).Add("b", b).Build(out var providers);
        return (harness, providers[0], providers[1]);
    }

    [Fact]
    public async Task ExecuteAsync_PrimaryOverloadedTwiceThenFine_RetriesSameModelWithoutFailover()
    {
        var (h, a, b) = Two([new Step.Fail(ProviderErrorClass.Overloaded), new Step.Fail(ProviderErrorClass.Overloaded), Step.Text("ok")], []);
        var outcome = await h.ExecuteAsync(Harness.Plan(M1, M2));

        Assert.Equal("m1", outcome.Model.Id);
        Assert.Equal(["overloaded", "overloaded", "ok"], outcome.Attempts.Select(x => x.Outcome));
        Assert.Equal(3, a.Calls);
        Assert.Equal(0, b.Calls);
        // Failed attempts are recorded, never billed: the outcome's usage is the answering attempt's.
        Assert.Equal(new TokenUsage(10, 5), outcome.Usage);
        Assert.All(outcome.Attempts.Take(2), x => Assert.Equal(default, x.Usage));
    }

    [Fact]
    public async Task ExecuteAsync_RetriesSpent_FailsOverToNextCandidate()
    {
        var (h, a, b) = Two([new Step.Fail(ProviderErrorClass.Overloaded)], []);
        var outcome = await h.ExecuteAsync(Harness.Plan(M1, M2));

        Assert.Equal("m2", outcome.Model.Id);
        Assert.Equal(1 + h.Options.MaxRetriesPerCandidate, a.Calls);
        Assert.Equal(["overloaded", "overloaded", "overloaded", "ok"], outcome.Attempts.Select(x => x.Outcome));
    }

    [Fact]
    public async Task ExecuteAsync_RateLimitedWithRetryAfter_WaitsAtLeastRetryAfterThenRetries()
    {
        var (h, a, _) = Two([new Step.Fail(ProviderErrorClass.RateLimited, TimeSpan.FromSeconds(3)), Step.Text("ok")], []);
        h.StepSize = TimeSpan.FromMilliseconds(50);
        var outcome = await h.ExecuteAsync(Harness.Plan(M1, M2));

        Assert.Equal("m1", outcome.Model.Id);
        var waited = a.CallTimes[1] - a.CallTimes[0];
        Assert.InRange(waited, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task ExecuteAsync_RateLimitedWithoutRetryAfter_BacksOffWithJitterBelowCap()
    {
        var (h, a, _) = Two([new Step.Fail(ProviderErrorClass.RateLimited), new Step.Fail(ProviderErrorClass.RateLimited), Step.Text("ok")], []);
        h.StepSize = TimeSpan.FromMilliseconds(10);
        await h.ExecuteAsync(Harness.Plan(M1, M2));

        // Full jitter: retry n waits uniform in [0, base·2^n] (base 100 ms), plus clock steps taken
        // while continuations catch up; far below a Retry-After-style wait.
        Assert.InRange(a.CallTimes[1] - a.CallTimes[0], TimeSpan.Zero, TimeSpan.FromMilliseconds(400));
        Assert.InRange(a.CallTimes[2] - a.CallTimes[1], TimeSpan.Zero, TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task ExecuteAsync_RetryAfterLongerThanWillingToWait_FailsOverAtOnce()
    {
        var (h, a, b) = Two([new Step.Fail(ProviderErrorClass.RateLimited, TimeSpan.FromMinutes(5))], []);
        var outcome = await h.ExecuteAsync(Harness.Plan(M1, M2));

        Assert.Equal("m2", outcome.Model.Id);
        Assert.Equal(1, a.Calls);
        Assert.True(b.CallTimes[0] - a.CallTimes[0] < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task ExecuteAsync_OnlyCandidateRateLimitedLong_ErrorCarriesRetryAfter()
    {
        var (h, _, _) = Two([new Step.Fail(ProviderErrorClass.RateLimited, TimeSpan.FromMinutes(5))], []);
        var ex = await Assert.ThrowsAsync<ProviderException>(() => h.ExecuteAsync(Harness.Plan(M1)));
        Assert.Equal(ProviderErrorClass.RateLimited, ex.ErrorClass);
        Assert.Equal(TimeSpan.FromMinutes(5), ex.RetryAfter);
    }

    [Fact]
    public async Task ExecuteAsync_ContentFiltered_NoRetryNoFailoverReasonKept()
    {
        var (h, a, b) = Two([new Step.Fail(ProviderErrorClass.ContentFiltered, Message: "violence policy")], []);
        var ex = await Assert.ThrowsAsync<ProviderException>(() => h.ExecuteAsync(Harness.Plan(M1, M2)));

        Assert.Equal(ProviderErrorClass.ContentFiltered, ex.ErrorClass);
        Assert.Equal("violence policy", ex.Message);
        Assert.Equal(1, a.Calls);
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task ExecuteAsync_ContextLengthExceeded_OnlyLargerWindowsNeverSameModel()
    {
        var builder = new HarnessBuilder(null)
            .Add("a", [new Step.Fail(ProviderErrorClass.ContextLengthExceeded)])
            .Add("b", [])
            .Add("c", []);
        var h = builder.Build(out var p);
        var big = TestCatalog.Model("big", "a", window: 100_000);
        var outcome = await h.ExecuteAsync(Harness.Plan(big, TestCatalog.Model("small", "b", window: 8_000), big, TestCatalog.Model("huge", "c", window: 1_000_000)));

        Assert.Equal("huge", outcome.Model.Id);
        Assert.Equal(1, p[0].Calls);
        Assert.Equal(0, p[1].Calls);
        Assert.Equal(["context_length_exceeded", "ok"], outcome.Attempts.Select(x => x.Outcome));
    }

    [Fact]
    public async Task ExecuteAsync_AuthenticationFailure_FailsOverWithoutRetry()
    {
        var (h, a, b) = Two([new Step.Fail(ProviderErrorClass.Authentication)], []);
        var outcome = await h.ExecuteAsync(Harness.Plan(M1, M2));
        Assert.Equal("m2", outcome.Model.Id);
        Assert.Equal(1, a.Calls);
    }

    [Fact]
    public async Task ExecuteAsync_ProviderNeverAnswers_AttemptTimeoutThenFailover()
    {
        var options = new ExecutionOptions { AttemptTimeoutMs = 2_000, MaxRetriesPerCandidate = 0 };
        var (h, a, b) = Two([new Step.Hang()], [], options);
        var outcome = await h.ExecuteAsync(Harness.Plan(M1, M2));

        Assert.Equal("m2", outcome.Model.Id);
        Assert.Equal("timeout", outcome.Attempts[0].Outcome);
        Assert.InRange(outcome.Attempts[0].Latency, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
        Assert.Equal(1, a.Cancelled);
    }

    [Fact]
    public async Task ExecuteAsync_AllFail_ThrowsLastClassifiedError()
    {
        var options = new ExecutionOptions { MaxRetriesPerCandidate = 0 };
        var (h, _, _) = Two([new Step.Fail(ProviderErrorClass.Overloaded)], [new Step.Fail(ProviderErrorClass.Timeout)], options);
        var ex = await Assert.ThrowsAsync<ProviderException>(() => h.ExecuteAsync(Harness.Plan(M1, M2)));
        Assert.Equal(ProviderErrorClass.Timeout, ex.ErrorClass);
        // The execution's scope keeps every attempt it made, for the usage event of a failed execution.
        Assert.Equal([("m1", "overloaded"), ("m2", "timeout")], h.LastScope!.Attempts.Select(a => (a.Model.Id, a.Outcome)));
    }

    [Fact]
    public async Task ExecuteAsync_AttemptsPerExecutionBounded()
    {
        var options = new ExecutionOptions { MaxRetriesPerCandidate = 10, MaxAttemptsPerExecution = 4, RetryBaseDelayMs = 10, RetryBudgetMinPerWindow = 100 };
        var (h, a, b) = Two([new Step.Fail(ProviderErrorClass.Overloaded)], [], options);
        var ex = await Assert.ThrowsAsync<ProviderException>(() => h.ExecuteAsync(Harness.Plan(M1, M2)));
        Assert.Equal(ProviderErrorClass.Overloaded, ex.ErrorClass);
        Assert.Equal(4, a.Calls);
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task ExecuteAsync_RetryBudgetSpent_FailsOverInsteadOfHammering()
    {
        var options = new ExecutionOptions { RetryBudgetMinPerWindow = 1, RetryBudgetRatio = 0, RetryBaseDelayMs = 10 };
        var (h, a, b) = Two([new Step.Fail(ProviderErrorClass.Overloaded)], [], options);
        var outcome = await h.ExecuteAsync(Harness.Plan(M1, M2));

        // One retry allowed in the window, then failover.
        Assert.Equal(2, a.Calls);
        Assert.Equal("m2", outcome.Model.Id);
        Assert.False(h.Budget.TryRetry());
        h.Time.Advance(TimeSpan.FromSeconds(options.RetryBudgetWindowSeconds + 1));
        Assert.True(h.Budget.TryRetry());
    }

    [Fact]
    public async Task ExecuteAsync_CallerCancels_Throws()
    {
        var (h, a, _) = Two([new Step.Hang()], []);
        using var cts = new CancellationTokenSource();
        var run = h.Engine.ExecuteAsync(Harness.Plan(M1, M2), "e1", cts.Token);
        while (a.Calls == 0)
        {
            await Task.Delay(1);
        }

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(1, a.Cancelled);
    }

    [Fact]
    public async Task ExecuteAsync_Outcomes_FeedHealthAndLearnedStatistics()
    {
        var options = new ExecutionOptions { MaxRetriesPerCandidate = 0 };
        var (h, _, _) = Two([new Step.Fail(ProviderErrorClass.Overloaded)], [Step.Text("ok", TimeSpan.FromMilliseconds(500))], options);
        await h.ExecuteAsync(Harness.Plan(M1, M2));

        var stats = await h.Stats.GetAsync([M1.Key, M2.Key], CancellationToken.None);
        // Counts decay with (fake) time: the 500 ms answer takes a hair off them.
        Assert.Equal(1, stats[M1.Key].Attempts, 2);
        Assert.Equal(1, stats[M1.Key].Failures, 2);
        Assert.Equal("overloaded", stats[M1.Key].LastError);
        Assert.Equal(0, stats[M1.Key].Alpha);
        Assert.Equal(1, stats[M2.Key].Attempts, 2);
        Assert.InRange(stats[M2.Key].LatencyMs, 500, 1000);
        Assert.True(stats[M2.Key].Alpha > 0.85);
        Assert.Equal(MonkeyCoder.V1.HealthState.Healthy, h.Health.Get("b").State);
    }

    [Fact]
    public async Task StreamAsync_FailureBeforeContent_FailsOverInvisibly()
    {
        var (h, _, _) = Two([new Step.Fail(ProviderErrorClass.RateLimited)], [new Step.Answer(["part one, ", "part two"])], new ExecutionOptions { MaxRetriesPerCandidate = 0 });
        var events = await h.StreamAsync(Harness.Plan(M1, M2));

        Assert.Equal(["part one, ", "part two"], events.Where(e => e.Delta is not null).Select(e => e.Delta));
        var done = events[^1].Completed!;
        Assert.Equal("part one, part two", done.Content);
        Assert.Equal("m2", done.Model.Id);
        Assert.Equal(["rate_limited", "ok"], done.Attempts.Select(x => x.Outcome));
    }

    [Fact]
    public async Task StreamAsync_SlowFirstToken_TimesOutAndFailsOverUnseen()
    {
        var options = new ExecutionOptions { FirstTokenTimeoutMs = 1_000, MaxRetriesPerCandidate = 0 };
        var (h, a, _) = Two([new Step.Answer(["late"], Delay: TimeSpan.FromSeconds(30))], [new Step.Answer(["fast"])], options);
        var events = await h.StreamAsync(Harness.Plan(M1, M2));

        Assert.Equal(["fast"], events.Where(e => e.Delta is not null).Select(e => e.Delta));
        var done = events[^1].Completed!;
        Assert.Equal(["timeout", "ok"], done.Attempts.Select(x => x.Outcome));
        Assert.InRange(done.Attempts[0].Latency, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2.5));
    }

    [Fact]
    public async Task StreamAsync_StallAfterContent_RecoveryOff_EndsWithStalledErrorNeverComplete()
    {
        var options = new ExecutionOptions { StallTimeoutMs = 2_000, StreamRecovery = false };
        var (h, _, b) = Two([new Step.BreakAfter(["partial ", "answer"], null)], [], options);
        var events = new List<ExecutionEvent>();
        var ex = await Assert.ThrowsAsync<ProviderException>(() => h.Drive(CollectInto(h, Harness.Plan(M1, M2), events)));

        Assert.Equal(ProviderErrorClass.Stalled, ex.ErrorClass);
        Assert.Equal(["partial ", "answer"], events.Select(e => e.Delta));
        Assert.DoesNotContain(events, e => e.Completed is not null);
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task StreamAsync_CutAfterContent_RecoveryOff_EndsWithErrorAndRecordsPartialUsage()
    {
        var (h, _, _) = Two([new Step.BreakAfter(["one two three"], ProviderErrorClass.StreamCut)], [], new ExecutionOptions { StreamRecovery = false });
        var events = new List<ExecutionEvent>();
        var ex = await Assert.ThrowsAsync<ProviderException>(() => h.Drive(CollectInto(h, Harness.Plan(M1, M2), events)));

        Assert.Equal(ProviderErrorClass.StreamCut, ex.ErrorClass);
        Assert.DoesNotContain(events, e => e.Completed is not null);
        var attempt = Assert.Single(h.LastScope!.Attempts);
        Assert.Equal("stream_cut", attempt.Outcome);
        Assert.True(attempt.Usage.OutputTokens > 0, "the tokens streamed before the cut are the failed execution's usage");
        var stats = await h.Stats.GetAsync([M1.Key], CancellationToken.None);
        Assert.Equal(1, stats[M1.Key].Failures);
        Assert.Equal("stream_cut", stats[M1.Key].LastError);
        Assert.Equal(1, (await h.BreakerStore.GetAsync([M1.Key], CancellationToken.None))[M1.Key].ConsecutiveFailures);
    }

    [Fact]
    public async Task StreamAsync_MalformedChunkBeforeContent_RetriedThenAnswers()
    {
        var (h, a, _) = Two([new Step.Fail(ProviderErrorClass.MalformedStream), new Step.Answer(["fine"])], []);
        var events = await h.StreamAsync(Harness.Plan(M1, M2));
        Assert.Equal("fine", events[^1].Completed!.Content);
        Assert.Equal(2, a.Calls);
    }

    [Theory]
    [InlineData(nameof(ProviderErrorClass.RateLimited), 3, "m2")]
    [InlineData(nameof(ProviderErrorClass.Overloaded), 3, "m2")]
    [InlineData(nameof(ProviderErrorClass.Timeout), 3, "m2")]
    [InlineData(nameof(ProviderErrorClass.ConnectionReset), 3, "m2")]
    [InlineData(nameof(ProviderErrorClass.MalformedStream), 3, "m2")]
    [InlineData(nameof(ProviderErrorClass.StreamCut), 3, "m2")]
    [InlineData(nameof(ProviderErrorClass.Stalled), 3, "m2")]
    [InlineData(nameof(ProviderErrorClass.Unknown), 3, "m2")]
    [InlineData(nameof(ProviderErrorClass.Authentication), 1, "m2")]
    [InlineData(nameof(ProviderErrorClass.InvalidRequest), 1, "m2")]
    [InlineData(nameof(ProviderErrorClass.ContextLengthExceeded), 1, null)]
    [InlineData(nameof(ProviderErrorClass.ContentFiltered), 1, null)]
    public async Task ExecuteAsync_EachFailureClass_RetriedFailedOverOrStoppedAsDesigned(string errorClassName, int primaryCalls, string? answeredBy)
    {
        var errorClass = Enum.Parse<ProviderErrorClass>(errorClassName);
        // m2 has the same window as m1, so after context_length_exceeded it is not eligible either.
        var (h, a, b) = Two([new Step.Fail(errorClass)], []);
        var plan = Harness.Plan(M1, M2);
        if (answeredBy is null)
        {
            var ex = await Assert.ThrowsAsync<ProviderException>(() => h.ExecuteAsync(plan));
            Assert.Equal(errorClass, ex.ErrorClass);
            Assert.Equal(0, b.Calls);
        }
        else
        {
            Assert.Equal(answeredBy, (await h.ExecuteAsync(plan)).Model.Id);
        }

        Assert.Equal(primaryCalls, a.Calls);
    }

    [Fact]
    public async Task ExecuteAndStream_ClientsOwnTimeout_ClassifiedAsTimeoutAndRetried()
    {
        var (h, a, _) = Two([new Step.ClientTimeout(), Step.Text("ok")], []);
        var outcome = await h.ExecuteAsync(Harness.Plan(M1, M2));
        Assert.Equal(["timeout", "ok"], outcome.Attempts.Select(x => x.Outcome));

        var (hs, _, _) = Two([new Step.ClientTimeout(), new Step.Answer(["ok"])], []);
        var events = await hs.StreamAsync(Harness.Plan(M1, M2));
        Assert.Equal(["timeout", "ok"], events[^1].Completed!.Attempts.Select(x => x.Outcome));
    }

    private static async Task<int> CollectInto(Harness h, MonkeyCoder.Core.Routing.RoutePlan plan, List<ExecutionEvent> events)
    {
        await foreach (var e in h.Engine.StreamAsync(plan, "exec_test", CancellationToken.None, started: s => h.LastScope = s))
        {
            events.Add(e);
        }

        return events.Count;
    }
}
