using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.Tests.Execution;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Routing;

public sealed class CapabilityRouterTests
{
    private sealed class FixedBudget(double? remaining) : IRoutingBudget
    {
        public ValueTask<double?> RemainingUsdAsync(TaskRequest task, CancellationToken cancellationToken) => ValueTask.FromResult(remaining);
    }

    private sealed class Setup
    {
        public Setup(CatalogModel[] models, RoutingOptions? routing = null, IRoutingBudget? budget = null)
        {
            Options = routing ?? new RoutingOptions { BanditCandidates = 1, RandomSeed = 7 };
            var ropts = Microsoft.Extensions.Options.Options.Create(Options);
            Breaker = new CircuitBreaker(new InMemoryCircuitBreakerStore(), Time,
                Microsoft.Extensions.Options.Options.Create(new ExecutionOptions { BreakerFailureThreshold = 2 }), NullLogger<CircuitBreaker>.Instance);
            Stats = new InMemoryRouterStatsStore(ropts, Time);
            var clients = models.Select(m => m.Provider).Distinct().Select(p => (IProviderClient)new FakeProvider(p, Time)).ToArray();
            Router = new CapabilityRouter(new TaskAnalyzer(TestCatalog.Tokens), TestCatalog.Of(models), new ProviderRegistry(clients), Health, Breaker, Stats,
                new ThompsonSamplingBandit(ropts, new BanditRandom(Options.RandomSeed)), budget ?? new UnlimitedRoutingBudget(), ropts, NullLogger<CapabilityRouter>.Instance);
        }

        public RoutingOptions Options { get; }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

        public ProviderHealthMonitor Health { get; } = new();

        public CircuitBreaker Breaker { get; }

        public InMemoryRouterStatsStore Stats { get; }

        public CapabilityRouter Router { get; }

        public Task<RoutePlan> PlanAsync(TaskRequest task) => Router.PlanAsync(task, CancellationToken.None).AsTask();
    }

    private static TaskRequest Task(string prompt = "write a function that adds two numbers", int maxTokens = 1000, RoutingObjective objective = RoutingObjective.Unspecified, double? maxCost = null) =>
        new() { TaskType = TaskType.CodeGeneration, Prompt = prompt, MaxTokens = maxTokens, Objective = objective, MaxCostUsd = maxCost };

    private static CatalogModel Model(string id, string provider = "p", int window = 128_000, double quality = 0.8, double price = 1, int latencyMs = 1000) =>
        TestCatalog.Model(id, provider, window, quality, quality, price) with { TypicalLatencyMs = latencyMs };

    [Fact]
    public async Task PlanAsync_EveryCandidate_HasScoreReasonsAndBreakdown()
    {
        var s = new Setup([Model("strong", quality: 0.95, price: 5), Model("cheap", quality: 0.6, price: 0.1)]);
        var plan = await s.PlanAsync(Task());

        Assert.Equal(2, plan.Candidates.Count);
        Assert.All(plan.Candidates, c =>
        {
            Assert.True(c.Score > 0);
            Assert.Contains(c.Reasons, r => r.StartsWith("capability", StringComparison.Ordinal));
            Assert.Contains(c.Reasons, r => r.Contains("window", StringComparison.Ordinal));
            Assert.Contains(c.Reasons, r => r.Contains("worst-case cost", StringComparison.Ordinal));
            foreach (var key in new[] { "capability", "code_generation", "reasoning", "context_fit", "reliability", "cost", "latency" })
            {
                Assert.True(c.Breakdown.ContainsKey(key), key);
            }
        });
        Assert.InRange(plan.Confidence, 0.1, 1);
        Assert.NotEmpty(plan.Reasons);
    }

    [Fact]
    public async Task PlanAsync_InputLargerThanWindow_LeftOutWithReason()
    {
        var s = new Setup([Model("tiny", window: 300), Model("roomy")]);
        var plan = await s.PlanAsync(Task(prompt: string.Join(' ', Enumerable.Repeat("word", 400))));

        Assert.Equal(["roomy"], plan.Candidates.Select(c => c.Model.Id));
        Assert.Contains(plan.Reasons, r => r.StartsWith("left out p/tiny", StringComparison.Ordinal) && r.Contains("window", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlanAsync_SessionHistoryLargerThanWindow_ModelKeptWithFullAnswerBecauseHistoryIsTrimmed()
    {
        var s = new Setup([Model("tiny", window: 300)]);
        var turn = string.Join(' ', Enumerable.Repeat("word", 100));
        var history = Enumerable.Range(0, 10).Select(i => new ChatMessage(i % 2 == 0 ? ChatRole.User : ChatRole.Assistant, turn)).ToList();
        var plan = await s.PlanAsync(Task(maxTokens: 100) with { History = history });

        Assert.True(plan.Analysis.EstimatedInputTokens > 1_000, "the history counts in the task's input estimate");
        var tiny = Assert.Single(plan.Candidates);
        Assert.Equal(100, tiny.MaxTokens);
    }

    [Fact]
    public async Task PlanAsync_MaxTokensDoNotFitWindow_ClampedWithReasonAndLowerFit()
    {
        var s = new Setup([Model("small", window: 2_000), Model("big", window: 100_000)]);
        var plan = await s.PlanAsync(Task(maxTokens: 4_000));

        var small = plan.Candidates.Single(c => c.Model.Id == "small");
        Assert.InRange(small.MaxTokens, 1_500, 1_999);
        Assert.Contains(small.Reasons, r => r.Contains("clamped from 4000", StringComparison.Ordinal));
        Assert.True(small.Breakdown["context_fit"] < 1);
        var big = plan.Candidates.Single(c => c.Model.Id == "big");
        Assert.Equal(4_000, big.MaxTokens);
        Assert.Equal("big", plan.Candidates[0].Model.Id);
    }

    [Fact]
    public async Task PlanAsync_NoModelFits_NoModelAvailableExplained()
    {
        var s = new Setup([Model("tiny", window: 100)]);
        var ex = await Assert.ThrowsAsync<RpcException>(() => s.PlanAsync(Task(prompt: string.Join(' ', Enumerable.Repeat("word", 400)))));
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains("p/tiny", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlanAsync_Objectives_ChangeTheLeader()
    {
        var models = new[] { Model("premium", quality: 0.95, price: 10, latencyMs: 4000), Model("budget", quality: 0.7, price: 0.1, latencyMs: 3000), Model("quick", quality: 0.7, price: 3, latencyMs: 200) };
        var prompt = "design a distributed cache architecture with consensus, then implement the parser function, then add encryption and finally write the migration step";

        var quality = await new Setup(models).PlanAsync(Task(prompt, objective: RoutingObjective.Quality));
        Assert.True(quality.Candidates[0].Model.Id == "premium", string.Join("\n", quality.Reasons.Concat(quality.Candidates.SelectMany(c => c.Reasons.Prepend(c.Model.Id + " " + c.Score)))));
        Assert.Equal("budget", (await new Setup(models).PlanAsync(Task(prompt, objective: RoutingObjective.Cost))).Candidates[0].Model.Id);
        Assert.Equal("quick", (await new Setup(models).PlanAsync(Task(prompt, objective: RoutingObjective.Latency))).Candidates[0].Model.Id);
    }

    [Fact]
    public async Task PlanAsync_MaxCostUsd_LeavesOutModelsOverBudget()
    {
        var s = new Setup([Model("expensive", quality: 0.95, price: 100), Model("cheap", price: 0.1)]);
        var plan = await s.PlanAsync(Task(maxTokens: 1000, maxCost: 0.01));

        Assert.Equal(["cheap"], plan.Candidates.Select(c => c.Model.Id));
        Assert.Contains(plan.Reasons, r => r.Contains("exceeds the budget", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlanAsync_BudgetHookExhausted_BudgetExceeded()
    {
        var s = new Setup([Model("a", price: 1)], budget: new FixedBudget(0.000001));
        var ex = await Assert.ThrowsAsync<RpcException>(() => s.PlanAsync(Task()));
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal("BUDGET_EXCEEDED", ex.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>().Reason);
    }

    [Fact]
    public async Task PlanAsync_UnhealthyProvider_RankedLowerWithReason()
    {
        var s = new Setup([Model("first", "p1", quality: 0.9), Model("second", "p2", quality: 0.85)]);
        for (var i = 0; i < ProviderHealthMonitor.UnhealthyAfter; i++)
        {
            s.Health.RecordFailure("p1", "overloaded");
        }

        var plan = await s.PlanAsync(Task());
        Assert.Equal("second", plan.Candidates[0].Model.Id);
        var first = plan.Candidates.Single(c => c.Model.Id == "first");
        Assert.Contains(first.Reasons, r => r.StartsWith("provider unhealthy", StringComparison.Ordinal));
        Assert.Equal(0.5, first.Breakdown["health"]);
    }

    [Fact]
    public async Task PlanAsync_OpenCircuit_TriedLastWithReason_HalfOpenAfterBreak()
    {
        var s = new Setup([Model("first", "p1", quality: 0.95), Model("second", "p2", quality: 0.6)]);
        await s.Breaker.OnFailureAsync("p1/first", ProviderErrorClass.Overloaded, CancellationToken.None);
        await s.Breaker.OnFailureAsync("p1/first", ProviderErrorClass.Overloaded, CancellationToken.None);

        var plan = await s.PlanAsync(Task());
        Assert.Equal(["second", "first"], plan.Candidates.Select(c => c.Model.Id));
        Assert.Contains(plan.Candidates[1].Reasons, r => r.StartsWith("circuit open", StringComparison.Ordinal));

        s.Time.Advance(TimeSpan.FromSeconds(31));
        plan = await s.PlanAsync(Task());
        Assert.Equal("first", plan.Candidates[0].Model.Id);
        Assert.Contains(plan.Candidates[0].Reasons, r => r.StartsWith("circuit half-open", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlanAsync_PreferredModel_BoostedAndSaysSo()
    {
        var s = new Setup([Model("a1", "pa", quality: 0.9), Model("b1", "pb", quality: 0.85)]);
        var plan = await s.PlanAsync(Task() with { ModelPreferences = new Dictionary<string, string> { ["pb"] = "b1" } });
        Assert.Equal("b1", plan.Candidates[0].Model.Id);
        Assert.Contains("preferred by the caller (×1.2)", plan.Candidates[0].Reasons);
    }

    [Fact]
    public async Task PlanAsync_ObservedFailures_LowerReliabilityWithReason()
    {
        var s = new Setup([Model("flaky", "p1", quality: 0.9), Model("steady", "p2", quality: 0.88)]);
        var rewards = new RewardModel(s.Options);
        for (var i = 0; i < 10; i++)
        {
            var ok = i % 2 == 0;
            await s.Stats.UpdateAsync("p1/flaky", rewards.ForAttempt(new AttemptObservation(ok, ok ? "ok" : "overloaded", 1000, null, 0.001), ok ? null : ProviderErrorClass.Overloaded), CancellationToken.None);
        }

        var plan = await s.PlanAsync(Task());
        Assert.Equal("steady", plan.Candidates[0].Model.Id);
        Assert.Contains(plan.Candidates[1].Reasons, r => r.StartsWith("observed reliability 0.50 over 10 recent attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlanAsync_ObservedFailures_LowerTheStaticScoreButNotTheBanditsPriorTwice()
    {
        // Failed attempts the posterior did not take as evidence (weight 0): the static score still
        // drops with the observed reliability, but the bandit's prior comes from the catalog's, so the
        // two models' posteriors stay equal. Before, the failure ratio — which does not fade while a
        // model goes unused, both counts decaying alike — also lowered the prior, on top of the same
        // failures in the posterior, and a recovered model stayed buried.
        var s = new Setup([Model("flaky", "p1", quality: 0.9), Model("steady", "p2", quality: 0.9)], new RoutingOptions { RandomSeed = 7 });
        for (var i = 0; i < 10; i++)
        {
            var ok = i % 2 == 0;
            await s.Stats.UpdateAsync("p1/flaky", new StatsUpdate(0, 0, new AttemptObservation(ok, ok ? "ok" : "overloaded", 1000, null, 0.001)), CancellationToken.None);
        }

        var plan = await s.PlanAsync(Task());
        var flaky = plan.Candidates.Single(c => c.Model.Id == "flaky");
        var steady = plan.Candidates.Single(c => c.Model.Id == "steady");
        Assert.True(flaky.Score < steady.Score, $"static score: flaky {flaky.Score}, steady {steady.Score}");
        Assert.Equal(steady.Breakdown["posterior_mean"], flaky.Breakdown["posterior_mean"], 6);
    }

    [Fact]
    public async Task PlanAsync_Bandit_ExplainsItsChoiceWithDraws()
    {
        var s = new Setup([Model("a", "p1", quality: 0.9), Model("b", "p2", quality: 0.89)], new RoutingOptions { RandomSeed = 3 });
        var plan = await s.PlanAsync(Task());
        Assert.Contains(plan.Reasons, r => r.StartsWith("bandit (thompson sampling", StringComparison.Ordinal));
        Assert.All(plan.Candidates, c => Assert.True(c.Breakdown.ContainsKey("bandit_draw")));
        // The chosen model goes first; the reason names it.
        Assert.Contains(plan.Reasons, r => r.Contains(plan.Candidates[0].Model.Key, StringComparison.Ordinal) && r.StartsWith("bandit", StringComparison.Ordinal));
    }

    [Fact]
    public void Requirement_ContextAndPersona_RaiseTheirCapabilityScaledByComplexity()
    {
        var plain = CapabilityRouter.Requirement(ComplexityLevel.Moderate, ContextType.General, Persona.Developer);
        Assert.Equal(CapabilityRouter.Requirement(ComplexityLevel.Moderate), plain);

        var architecture = CapabilityRouter.Requirement(ComplexityLevel.Moderate, ContextType.Architecture, Persona.Architect);
        Assert.Equal(0.95 * 0.8, architecture.Reasoning, 6);
        Assert.Equal(plain.CodeGeneration, architecture.CodeGeneration);

        var code = CapabilityRouter.Requirement(ComplexityLevel.Moderate, ContextType.CodeGeneration, Persona.Developer);
        Assert.Equal(0.9 * 0.8, code.CodeGeneration, 6);

        // Security needs reliability whatever the complexity; a trivial task still keeps low code/reasoning floors.
        var security = CapabilityRouter.Requirement(ComplexityLevel.Trivial, ContextType.Security, Persona.SecurityAnalyst);
        Assert.Equal(0.95, security.Reliability, 6);
        Assert.True(security.CodeGeneration < 0.6 && security.Reasoning < 0.6);
    }
}
