using System.Globalization;
using System.Text;
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

/// <summary>
/// The whole explanation of fixed plans, word for word: the reasons are formatted only when read,
/// from what the rules recorded, and must read exactly as they did when every rule formatted its
/// text while planning (the expected text below was produced by that eager router).
/// </summary>
public sealed class RouteExplanationTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly ProviderHealthMonitor _health = new();
    private readonly RoutingOptions _options = new() { RandomSeed = 7 };
    private readonly CircuitBreaker _breaker;
    private readonly InMemoryRouterStatsStore _stats;
    private readonly CapabilityRouter _router;

    public RouteExplanationTests()
    {
        var options = Options.Create(_options);
        _breaker = new CircuitBreaker(new InMemoryCircuitBreakerStore(), _time,
            Options.Create(new ExecutionOptions { BreakerFailureThreshold = 2 }), NullLogger<CircuitBreaker>.Instance);
        _stats = new InMemoryRouterStatsStore(options, _time);
        CatalogModel[] models = [Capped, Tight, Cheap, Tiny, Open, Fallback];
        var clients = models.Select(m => m.Provider).Distinct().Select(p => (IProviderClient)new FakeProvider(p, _time)).ToArray();
        _router = new CapabilityRouter(new TaskAnalyzer(TestCatalog.Tokens), TestCatalog.Of(models), new ProviderRegistry(clients), _health, _breaker, _stats,
            new ThompsonSamplingBandit(options, new BanditRandom(_options.RandomSeed)), new UnlimitedRoutingBudget(), options, NullLogger<CapabilityRouter>.Instance);
    }

    private static CatalogModel Capped { get; } = TestCatalog.Model("capped", "p1", 128_000, 0.9, 0.85, 5) with { MaxOutputTokens = 500, TypicalLatencyMs = 800 };

    private static CatalogModel Tight { get; } = TestCatalog.Model("tight", "p2", 600, 0.8, 0.8, 2) with { Fallbacks = ["p3/cheap"] };

    private static CatalogModel Cheap { get; } = TestCatalog.Model("cheap", "p3", 64_000, 0.6, 0.5, 0.1) with { TypicalLatencyMs = 400 };

    private static CatalogModel Tiny { get; } = TestCatalog.Model("tiny", "p4", 40, 0.9, 0.9, 1);

    private static CatalogModel Open { get; } = TestCatalog.Model("open", "p5", 128_000, 0.95, 0.95, 3);

    private static CatalogModel Fallback { get; } = TestCatalog.Model("spare", "p6", 128_000, 0.7, 0.7, 1);

    private static TaskRequest Task() => new() { TaskType = TaskType.CodeGeneration, Prompt = "write a function that adds two numbers", MaxTokens = 1000 };

    private async Task ObserveAsync()
    {
        var rewards = new RewardModel(_options);
        for (var i = 0; i < 10; i++)
        {
            var ok = i % 3 != 0;
            await _stats.UpdateAsync("p3/cheap", rewards.ForAttempt(new AttemptObservation(ok, ok ? "ok" : "overloaded", 700 + i, 300, 0.0001), ok ? null : ProviderErrorClass.Overloaded), CancellationToken.None);
        }

        for (var i = 0; i < ProviderHealthMonitor.DegradedAfter; i++)
        {
            _health.RecordFailure("p2", "timeout");
        }

        await _breaker.OnFailureAsync("p5/open", ProviderErrorClass.Overloaded, CancellationToken.None);
        await _breaker.OnFailureAsync("p5/open", ProviderErrorClass.Overloaded, CancellationToken.None);
    }

    /// <summary>The plan as a reader of the Route RPC sees it: reasons, candidates, scores, breakdowns.</summary>
    private static string Render(RoutePlan plan)
    {
        var text = new StringBuilder();
        foreach (var reason in plan.Reasons)
        {
            text.Append("plan: ").Append(reason).Append('\n');
        }

        foreach (var c in plan.Candidates)
        {
            text.Append(c.Model.Key).Append(' ').Append(c.Score.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            foreach (var reason in c.Reasons)
            {
                text.Append("  ").Append(reason).Append('\n');
            }

            foreach (var (name, value) in c.Breakdown)
            {
                text.Append("  ").Append(name).Append('=').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        return text.ToString();
    }

    private static void AssertText(string expected, RoutePlan plan)
    {
        var actual = Render(plan);
        if (Environment.GetEnvironmentVariable("ROUTE_EXPLANATION_DUMP") is { Length: > 0 } dump)
        {
            File.AppendAllText(dump, actual + "=====\n");
        }

        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task PlanAsync_RankedWithEveryKindOfReason_ExplanationReadsWordForWord()
    {
        await ObserveAsync();
        var plan = await _router.PlanAsync(Task() with { ModelPreferences = new Dictionary<string, string> { ["p3"] = "cheap" } }, CancellationToken.None);
        AssertText(Ranked, plan);
        // A second read gives the same text.
        AssertText(Ranked, plan);
    }

    [Fact]
    public async Task PlanAsync_RankedWithBanditAndCallerFallbacks_ExplanationReadsWordForWord()
    {
        await ObserveAsync();
        var plan = await _router.PlanAsync(Task(), new RoutePins([], [Fallback, Tiny]), CancellationToken.None);
        AssertText(Bandit, plan);
    }

    [Fact]
    public async Task PlanAsync_PinnedWithChain_ExplanationReadsWordForWord()
    {
        await ObserveAsync();
        var plan = await _router.PlanAsync(Task(), new RoutePins([Tight], [Fallback]), CancellationToken.None);
        AssertText(Pinned, plan);
    }

    private const string Ranked = """
        plan: trivial codegeneration task (complexity 0.18) for a developer, 33 input tokens
        plan: left out p4/tiny: input of 33 tokens leaves 7 of its 40-token window, less than the 256 an answer needs
        plan: p3/cheap goes first of 5 (score 1.278)
        p3/cheap 1.2778
          capability 0.960: 0.60 code / 0.50 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.000403 (1.00 of the cheapest), latency 1.00 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          fits its 64000-token window (1033 needed)
          observed reliability 0.60 over 10 recent attempts over all task types (catalog 0.95); last error overloaded
          preferred by the caller (×1.2)
          cheap model for a simple task (×1.1)
          expected latency 400 ms (catalog; observed 705 ms, time to first token 300 ms)
          capability=0.96
          code_generation=1
          reasoning=1
          context_fit=1
          reliability=0.8
          preference=1.2
          cheap_bonus=1.1
          cost=1
          latency=1
        p1/capped 0.854
          capability 1.000: 0.90 code / 0.85 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.010165 (0.04 of the cheapest), latency 0.50 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          max_tokens capped at the model's output limit of 500
          fits its 128000-token window (533 needed)
          expected latency 800 ms (catalog)
          capability=1
          code_generation=1
          reasoning=1
          context_fit=1
          reliability=1
          cost=0.0397
          latency=0.5
        p6/spare 0.85
          capability 1.000: 0.70 code / 0.70 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.004033 (0.10 of the cheapest), latency 0.40 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          fits its 128000-token window (1033 needed)
          expected latency 1000 ms (catalog)
          capability=1
          code_generation=1
          reasoning=1
          context_fit=1
          reliability=1
          cost=0.1
          latency=0.4
        p2/tight 0.6888
          capability 0.957: 0.80 code / 0.80 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.004602 (0.05 of the cheapest), latency 0.40 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          max_tokens clamped from 1000 to 567 to fit its 600-token window with 33 input tokens
          provider degraded: 3 consecutive failures; last: timeout (×0.85)
          expected latency 1000 ms (catalog)
          capability=0.9567
          code_generation=1
          reasoning=1
          context_fit=0.7835
          reliability=1
          health=0.85
          cost=0.05
          latency=0.4
        p5/open 0.8433
          capability 1.000: 0.95 code / 0.95 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.012099 (0.03 of the cheapest), latency 0.40 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          fits its 128000-token window (1033 needed)
          circuit open for 30 s more after 2 consecutive failures: tried last
          expected latency 1000 ms (catalog)
          capability=1
          code_generation=1
          reasoning=1
          context_fit=1
          reliability=1
          cost=0.0333
          latency=0.4

        """;

    private const string Bandit = """
        plan: trivial codegeneration task (complexity 0.18) for a developer, 33 input tokens
        plan: left out p4/tiny: input of 33 tokens leaves 7 of its 40-token window, less than the 256 an answer needs
        plan: bandit (thompson sampling, exploration rate 1.00) kept p3/cheap among p3/cheap 0.940, p1/capped 0.692, p6/spare 0.518, p2/tight 0.350
        plan: p3/cheap goes first of 5 (score 1.065)
        p3/cheap 1.0648
          capability 0.960: 0.60 code / 0.50 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.000403 (1.00 of the cheapest), latency 1.00 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          fits its 64000-token window (1033 needed)
          observed reliability 0.60 over 10 recent attempts over all task types (catalog 0.95); last error overloaded
          cheap model for a simple task (×1.1)
          expected latency 400 ms (catalog; observed 705 ms, time to first token 300 ms)
          learned on code_generation: posterior mean 0.780 from 0 weighted outcomes here and 9.1 over all task types; 0 recent attempts; latency (catalog) 400 ms; latency and cost take 0.000 off; draw 0.940
          capability=0.96
          code_generation=1
          reasoning=1
          context_fit=1
          reliability=0.8
          cheap_bonus=1.1
          cost=1
          latency=1
          posterior_mean=0.7799
          learned_penalty=0
          bandit_draw=0.9396
        p1/capped 0.854
          capability 1.000: 0.90 code / 0.85 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.010165 (0.04 of the cheapest), latency 0.50 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          max_tokens capped at the model's output limit of 500
          fits its 128000-token window (533 needed)
          expected latency 800 ms (catalog)
          learned on code_generation: posterior mean 0.699 from 0 weighted outcomes here and 0 over all task types; 0 recent attempts; latency (catalog) 800 ms; latency and cost take 0.196 off; draw 0.692
          capability=1
          code_generation=1
          reasoning=1
          context_fit=1
          reliability=1
          cost=0.0397
          latency=0.5
          posterior_mean=0.6987
          learned_penalty=0.196
          bandit_draw=0.6915
        p6/spare 0.85
          capability 1.000: 0.70 code / 0.70 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.004033 (0.10 of the cheapest), latency 0.40 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          fits its 128000-token window (1033 needed)
          expected latency 1000 ms (catalog)
          learned on code_generation: posterior mean 0.695 from 0 weighted outcomes here and 0 over all task types; 0 recent attempts; latency (catalog) 1000 ms; latency and cost take 0.210 off; draw 0.518
          capability=1
          code_generation=1
          reasoning=1
          context_fit=1
          reliability=1
          cost=0.1
          latency=0.4
          posterior_mean=0.6955
          learned_penalty=0.21
          bandit_draw=0.5179
        p2/tight 0.6888
          capability 0.957: 0.80 code / 0.80 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.004602 (0.05 of the cheapest), latency 0.40 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          max_tokens clamped from 1000 to 567 to fit its 600-token window with 33 input tokens
          provider degraded: 3 consecutive failures; last: timeout (×0.85)
          expected latency 1000 ms (catalog)
          learned on code_generation: posterior mean 0.564 from 0 weighted outcomes here and 0 over all task types; 0 recent attempts; latency (catalog) 1000 ms; latency and cost take 0.215 off; draw 0.350
          capability=0.9567
          code_generation=1
          reasoning=1
          context_fit=0.7835
          reliability=1
          health=0.85
          cost=0.05
          latency=0.4
          posterior_mean=0.5636
          learned_penalty=0.215
          bandit_draw=0.3503
        p5/open 0.8433
          capability 1.000: 0.95 code / 0.95 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.012099 (0.03 of the cheapest), latency 0.40 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          fits its 128000-token window (1033 needed)
          circuit open for 30 s more after 2 consecutive failures: tried last
          expected latency 1000 ms (catalog)
          capability=1
          code_generation=1
          reasoning=1
          context_fit=1
          reliability=1
          cost=0.0333
          latency=0.4
        p4/tiny 0
          fallback listed by the caller

        """;

    private const string Pinned = """
        plan: model named by the caller: p2/tight
        plan: trivial codegeneration task (complexity 0.18) for a developer, 33 input tokens
        plan: p2/tight goes first of 3 (score 0.827)
        p2/tight 0.8266
          requested by the caller
          capability 0.957: 0.80 code / 0.80 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.004602 (0.05 of the cheapest), latency 0.40 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          max_tokens clamped from 1000 to 567 to fit its 600-token window with 33 input tokens
          preferred by the caller (×1.2)
          provider degraded: 3 consecutive failures; last: timeout (×0.85)
          expected latency 1000 ms (catalog)
          capability=0.9567
          code_generation=1
          reasoning=1
          context_fit=0.7835
          reliability=1
          preference=1.2
          health=0.85
          position=0
          cost=0.05
          latency=0.4
        p3/cheap 1.0648
          catalog fallback of p2/tight
          capability 0.960: 0.60 code / 0.50 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.000403 (1.00 of the cheapest), latency 1.00 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          fits its 64000-token window (1033 needed)
          observed reliability 0.60 over 10 recent attempts over all task types (catalog 0.95); last error overloaded
          cheap model for a simple task (×1.1)
          expected latency 400 ms (catalog; observed 705 ms, time to first token 300 ms)
          capability=0.96
          code_generation=1
          reasoning=1
          context_fit=1
          reliability=0.8
          cheap_bonus=1.1
          position=1
          cost=1
          latency=1
        p6/spare 0.85
          fallback listed by the caller
          capability 1.000: 0.70 code / 0.70 reasoning against the trivial codegeneration requirement 0.54/0.30
          worst-case cost $0.004033 (0.10 of the cheapest), latency 0.40 of the fastest; balanced objective weighs cost 0.10, latency 0.10
          fits its 128000-token window (1033 needed)
          expected latency 1000 ms (catalog)
          capability=1
          code_generation=1
          reasoning=1
          context_fit=1
          reliability=1
          position=2
          cost=0.1
          latency=0.4

        """;
}
