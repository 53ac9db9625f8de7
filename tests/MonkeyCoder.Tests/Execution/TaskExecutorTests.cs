using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Caching;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Sessions;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Execution;

/// <summary>
/// <see cref="TaskExecutor"/>'s usage accounting: exactly one usage event per execution, whatever
/// the path (answer, failure, a consumer that stops reading, a shared flight).
/// </summary>
public sealed class TaskExecutorTests : IDisposable
{
    private static readonly CallerIdentity Caller = new("user_1", "key_1", false);

    private readonly string _spill = Path.Combine(Path.GetTempPath(), "mc-unit-exec-spill-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly UsageQueue _usage;

    public TaskExecutorTests()
    {
        _usage = new UsageQueue(Options.Create(new UsageOptions { SpillPath = _spill }), new InMemoryUsageStore());
    }

    public void Dispose()
    {
        if (Directory.Exists(_spill))
        {
            Directory.Delete(_spill, recursive: true);
        }
    }

    private TaskExecutor Executor(Harness harness, params CatalogModel[] models)
    {
        var statistics = new CacheStatistics();
        var cacheOptions = Options.Create(new Core.Caching.CacheOptions());
        return new TaskExecutor(harness.Engine, TestCatalog.Of(models), new MemoryResponseCache(cacheOptions, statistics, harness.Time), statistics, cacheOptions,
            new InMemorySessionStore(Options.Create(new SessionOptions()), harness.Time), _usage, harness.Time, NullLogger<TaskExecutor>.Instance, harness.Stats);
    }

    private List<UsageEvent> Recorded()
    {
        var events = new List<UsageEvent>();
        while (_usage.Reader.TryRead(out var e))
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task StreamAsync_ConsumerStopsAfterFirstDelta_OneCancelledEventWithTheAttemptsTokensAndCost()
    {
        var model = TestCatalog.Model("m1", "p1");
        var harness = new HarnessBuilder(null).Add("p1", [new Step.Answer(["one ", "two ", "three"])]).Build(out _);
        var executor = Executor(harness, model);

        await harness.Drive(ReadFirstThenStop(executor, Harness.Plan(model)));

        var usage = Assert.Single(Recorded());
        Assert.Equal("exec_stop", usage.ExecutionId);
        Assert.Equal((int)ExecutionStatus.Cancelled, usage.Status);
        Assert.Equal("cancelled", usage.ErrorClass);
        var attempt = Assert.Single(usage.Attempts);
        Assert.Equal(AttemptOutcomes.Cancelled, attempt.Outcome);
        Assert.True(usage.InputTokens > 0, "the prompt reached the provider: its tokens are usage");
        Assert.True(usage.OutputTokens > 0, "content streamed before the stop is usage");
        Assert.True(usage.CostUsd > 0);
        Assert.Equal("p1", usage.Provider);
    }

    [Fact]
    public async Task ExecuteAsync_Completed_RemembersTheAnsweringModelAndItsOwnerForFeedback()
    {
        var model = TestCatalog.Model("m1", "p1");
        var harness = new HarnessBuilder(null).Add("p1", [new Step.Answer(["done"])]).Build(out _);
        var executor = Executor(harness, model);

        var outcome = await harness.Drive(executor.ExecuteAsync(Harness.Plan(model), "exec_fb", Caller, CancellationToken.None));

        Assert.Equal(new Core.Routing.Learning.RememberedExecution(model.Key, Caller.PrincipalId, "code_generation"), await harness.Stats.FindExecutionAsync(outcome.ExecutionId, CancellationToken.None));
    }

    [Fact]
    public async Task StreamAsync_ReadToTheEnd_OneCompletedEvent()
    {
        var model = TestCatalog.Model("m1", "p1");
        var harness = new HarnessBuilder(null).Add("p1", [new Step.Answer(["one ", "two"])]).Build(out _);
        var executor = Executor(harness, model);

        await harness.Drive(ReadAll(executor, Harness.Plan(model)));

        var usage = Assert.Single(Recorded());
        Assert.Equal((int)ExecutionStatus.Completed, usage.Status);
        Assert.Equal(AttemptOutcomes.Ok, Assert.Single(usage.Attempts).Outcome);
    }

    [Fact]
    public async Task StreamAsync_StreamBreaksAfterContent_OneFailedEvent()
    {
        var model = TestCatalog.Model("m1", "p1");
        var harness = new HarnessBuilder(null).Add("p1", [new Step.BreakAfter(["one ", "two"], ProviderErrorClass.StreamCut)]).Build(out _);
        var executor = Executor(harness, model);

        await Assert.ThrowsAsync<ProviderException>(() => harness.Drive(ReadAll(executor, Harness.Plan(model))));

        var usage = Assert.Single(Recorded());
        Assert.Equal((int)ExecutionStatus.Failed, usage.Status);
        Assert.True(usage.OutputTokens > 0);
    }

    [Fact]
    public async Task StreamAsync_StreamBreaksAfterContent_ChargeCarriesTheFailedAttemptsTokensAndCost()
    {
        var model = TestCatalog.Model("m1", "p1");
        var harness = new HarnessBuilder(null).Add("p1", [new Step.BreakAfter(["one ", "two"], ProviderErrorClass.StreamCut)]).Build(out _);
        var executor = Executor(harness, model);
        var charge = new UsageCharge();

        await Assert.ThrowsAsync<ProviderException>(() => harness.Drive(ReadAll(executor, Harness.Plan(model), charge)));

        var usage = Assert.Single(Recorded());
        Assert.True(usage.CostUsd > 0);
        Assert.Equal(usage.InputTokens + usage.OutputTokens, charge.Tokens);
        Assert.Equal(usage.CostUsd, charge.CostUsd);
    }

    [Fact]
    public async Task ExecuteAsync_QuantumLoserConsumedTokens_BilledTotalUsageRecordAndChargeCarryBothUsageTheAnswers()
    {
        var a = TestCatalog.Model("ma", "a");
        var b = TestCatalog.Model("mb", "b");
        var harness = new HarnessBuilder(null)
            .Add("a", [Step.Text("best model answer", TimeSpan.FromSeconds(3))])
            .Add("b", [Step.Text("second answer", TimeSpan.FromSeconds(1))])
            .Build(out _);
        var executor = Executor(harness, a, b);
        var charge = new UsageCharge();
        var plan = Harness.Plan(Strategy.Quantum, a, b) with { CollapseStrategy = CollapseStrategy.BestScore };

        var outcome = await harness.Drive(executor.ExecuteAsync(plan, "exec_billed", Caller, CancellationToken.None, charge: charge));

        var winner = Assert.Single(outcome.Attempts, x => x.Outcome == AttemptOutcomes.Ok);
        var loser = Assert.Single(outcome.Attempts, x => x.Outcome == AttemptOutcomes.Discarded);
        Assert.True(loser.Usage.OutputTokens > 0, "the losing variant's answer was generated, so billed by its provider");
        var billedTokens = winner.Usage.TotalTokens + loser.Usage.TotalTokens;
        var billedCost = winner.CostUsd + loser.CostUsd;
        // usage: the answer's; billed: both attempts'.
        Assert.Equal(winner.Usage, outcome.Usage);
        Assert.Equal(billedTokens, outcome.Billed.TotalTokens);
        Assert.Equal(billedCost, outcome.Billed.CostUsd, 12);
        var record = Assert.Single(Recorded());
        Assert.Equal(winner.Usage.InputTokens, record.InputTokens);
        Assert.Equal(winner.Usage.OutputTokens, record.OutputTokens);
        Assert.Equal(winner.CostUsd, record.CostUsd, 12);
        Assert.Equal(outcome.Billed, record.Billed);
        // The limits settle with the billed total.
        Assert.Equal(billedTokens, charge.Tokens);
        Assert.Equal(billedCost, charge.CostUsd, 12);
    }

    [Fact]
    public async Task StreamAsync_StreamBreaksAfterContent_BilledEqualsTheAttemptsUsage()
    {
        var model = TestCatalog.Model("m1", "p1");
        var harness = new HarnessBuilder(null).Add("p1", [new Step.BreakAfter(["one ", "two"], ProviderErrorClass.StreamCut)]).Build(out _);
        var executor = Executor(harness, model);

        await Assert.ThrowsAsync<ProviderException>(() => harness.Drive(ReadAll(executor, Harness.Plan(model))));

        var record = Assert.Single(Recorded());
        Assert.True(record.BilledOutputTokens > 0);
        Assert.Equal(new BilledUsage(record.InputTokens, record.OutputTokens, record.CostUsd), record.Billed);
    }

    [Fact]
    public async Task ExecuteAsync_SharedFlightFails_LeaderRecordsTheAttemptsJoinerRecordsNone()
    {
        var model = TestCatalog.Model("m1", "p1");
        var options = new ExecutionOptions { AttemptTimeoutMs = 1_000, RetryBaseDelayMs = 100, RetryMaxDelayMs = 1000 };
        var harness = new HarnessBuilder(options).Add("p1", [new Step.Hang()]).Build(out _);
        var executor = Executor(harness, model);
        var plan = Cacheable(model);

        var leader = executor.ExecuteAsync(plan, "exec_leader", Caller, CancellationToken.None);
        await WaitUntilAsync(() => executor.InFlight == 1);
        var joiner = executor.ExecuteAsync(plan, "exec_joiner", Caller, CancellationToken.None);
        await harness.Drive(Settled(leader, joiner));

        await Assert.ThrowsAsync<ProviderException>(() => leader);
        await Assert.ThrowsAsync<ProviderException>(() => joiner);
        var events = Recorded().ToDictionary(e => e.ExecutionId);
        Assert.Equal(2, events.Count);
        Assert.NotEmpty(events["exec_leader"].Attempts);
        Assert.Equal((int)ExecutionStatus.Failed, events["exec_joiner"].Status);
        Assert.Empty(events["exec_joiner"].Attempts);
        Assert.Equal(0, events["exec_joiner"].CostUsd);
    }

    [Fact]
    public async Task ExecuteAsync_LeaderCallerLeavesFlightAnswersJoiner_UpstreamCostRecordedOnceToTheLeader()
    {
        var model = TestCatalog.Model("m1", "p1");
        var harness = new HarnessBuilder(null).Add("p1", [Step.Text("the shared answer", TimeSpan.FromSeconds(3))]).Build(out _);
        var executor = Executor(harness, model);
        var plan = Cacheable(model);
        using var leaderGone = new CancellationTokenSource();
        var leaderCharge = new UsageCharge();
        var joinerCharge = new UsageCharge();
        // Two keys of one user: answers are cached (and flights shared) per user unless the operator
        // shares them across users, so only the same user's calls can join one flight.
        var leaderCaller = new CallerIdentity("user_1", "key_l", false);
        var joinerCaller = new CallerIdentity("user_1", "key_j", false);

        var leader = executor.ExecuteAsync(plan, "exec_leader", leaderCaller, leaderGone.Token, charge: leaderCharge);
        await WaitUntilAsync(() => executor.InFlight == 1);
        var joiner = executor.ExecuteAsync(plan, "exec_joiner", joinerCaller, CancellationToken.None, charge: joinerCharge);
        await leaderGone.CancelAsync();
        await harness.Drive(Task.WhenAll(leader, joiner).ContinueWith(_ => 0, TaskScheduler.Default));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader);
        var answer = await joiner;
        Assert.Equal("the shared answer", answer.Content);
        var events = Recorded().ToDictionary(e => e.ExecutionId);
        Assert.Equal(2, events.Count);
        var led = events["exec_leader"];
        Assert.Equal("user_1", led.PrincipalId);
        Assert.Equal("key_l", led.ApiKeyId);
        Assert.Equal((int)ExecutionStatus.Cancelled, led.Status);
        Assert.Equal(AttemptOutcomes.Ok, Assert.Single(led.Attempts).Outcome);
        Assert.True(led.BilledCostUsd > 0 && led.BilledOutputTokens > 0, "the upstream answer was generated and billed");
        Assert.Equal(led.BilledCostUsd, leaderCharge.CostUsd, 12);
        Assert.Equal(led.Billed.TotalTokens, leaderCharge.Tokens);
        Assert.Equal(0, events["exec_joiner"].BilledCostUsd);
        Assert.Equal(0, joinerCharge.CostUsd);
    }

    [Fact]
    public async Task StreamAsync_SharedFlightBreaksAfterContent_LeaderBilledOnceJoinerNotBilled()
    {
        var model = TestCatalog.Model("m1", "p1");
        var harness = new HarnessBuilder(new ExecutionOptions { StreamRecovery = false }).Add("p1", [new Step.BreakAfter(["one ", "two"], null)]).Build(out _);
        var executor = Executor(harness, model);
        var plan = Cacheable(model);

        var leader = ReadAllAsync(executor, plan, "exec_leader");
        await WaitUntilAsync(() => executor.InFlight == 1);
        var joiner = ReadAllAsync(executor, plan, "exec_joiner");
        await harness.Drive(Settled(leader, joiner));

        await Assert.ThrowsAsync<ProviderException>(() => leader);
        await Assert.ThrowsAsync<ProviderException>(() => joiner);
        var events = Recorded().ToDictionary(e => e.ExecutionId);
        Assert.Equal(2, events.Count);
        Assert.True(events["exec_leader"].CostUsd > 0, "the leader's stalled attempt streamed tokens: it is billed");
        Assert.Single(events["exec_leader"].Attempts);
        Assert.Empty(events["exec_joiner"].Attempts);
        Assert.Equal(0, events["exec_joiner"].CostUsd);
        Assert.Equal(0, events["exec_joiner"].OutputTokens);
    }

    private static Core.Routing.RoutePlan Cacheable(CatalogModel model)
    {
        var plan = Harness.Plan(model);
        return plan with { Task = plan.Task with { Temperature = 0 } };
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "the condition did not hold within 2 s");
    }

    private static async Task<int> Settled(params Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (ProviderException)
        {
            // Observed by the test's own asserts.
        }

        return 0;
    }

    private static async Task<int> ReadAllAsync(TaskExecutor executor, Core.Routing.RoutePlan plan, string executionId)
    {
        var n = 0;
        await foreach (var _ in executor.StreamAsync(plan, executionId, Caller, CancellationToken.None))
        {
            n++;
        }

        return n;
    }

    private static async Task<int> ReadFirstThenStop(TaskExecutor executor, Core.Routing.RoutePlan plan)
    {
        // What RouterApi does when WriteAsync throws on a client gone: leaves the loop, disposing the enumerator.
        await foreach (var item in executor.StreamAsync(plan, "exec_stop", Caller, CancellationToken.None))
        {
            if (item.Delta is { Length: > 0 })
            {
                break;
            }
        }

        return 0;
    }

    private static async Task<int> ReadAll(TaskExecutor executor, Core.Routing.RoutePlan plan, UsageCharge? charge = null)
    {
        var n = 0;
        await foreach (var _ in executor.StreamAsync(plan, "exec_all", Caller, CancellationToken.None, charge: charge))
        {
            n++;
        }

        return n;
    }

    [Fact]
    public async Task DeterministicToolCallAnswer_CachedWithItsCalls_HitReturnsThem_UnaryAndStreamed()
    {
        var model = TestCatalog.Model("m1", "p1");
        var provider = new ToolCallingProvider("p1");
        var harness = new Harness(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)),
            new ExecutionOptions { RetryBaseDelayMs = 0, RetryMaxDelayMs = 0 }, null, provider);
        var executor = Executor(harness, model);
        var plan = Harness.Plan(model);
        plan = plan with { Task = plan.Task with { Temperature = 0 } };

        var live = await harness.Drive(executor.ExecuteAsync(plan, "exec_live", Caller, CancellationToken.None));
        var hit = await harness.Drive(executor.ExecuteAsync(plan, "exec_hit", Caller, CancellationToken.None));
        var streamed = new List<ExecutionEvent>();
        await harness.Drive(System.Threading.Tasks.Task.Run(async () =>
        {
            await foreach (var e in executor.StreamAsync(plan, "exec_stream_hit", Caller, CancellationToken.None))
            {
                streamed.Add(e);
            }

            return streamed.Count;
        }));

        Assert.Equal(1, provider.Calls);
        Assert.False(live.CacheHit);
        Assert.True(hit.CacheHit);
        Assert.Equal(FinishReason.ToolCalls, hit.FinishReason);
        Assert.Equal(live.ToolCalls, hit.ToolCalls);
        Assert.Equal(2, hit.ToolCalls.Count);
        var assembler = new ToolCallAssembler();
        foreach (var piece in streamed.Where(e => e.ToolCall is not null))
        {
            assembler.Add(piece.ToolCall!);
        }

        Assert.Equal(live.ToolCalls, assembler.Build());
        Assert.Equal(live.ToolCalls, streamed[^1].Completed!.ToolCalls);
    }
}
