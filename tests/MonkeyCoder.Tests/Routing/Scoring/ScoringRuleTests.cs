using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.Core.Routing.Scoring;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Routing.Scoring;

/// <summary>Each scoring rule alone, with its default weights and with weights from options.</summary>
public sealed class ScoringRuleTests
{
    private static readonly TaskProfile Moderate = new(0.5, ComplexityLevel.Moderate, ContextType.General, Persona.Developer, 1_000);

    private static CatalogModel Model(string id = "m", double code = 0.7, double reasoning = 0.35, double reliability = 0.85, double price = 1, int latencyMs = 0) =>
        TestCatalog.Model(id, "p", 128_000, code, reasoning, price) with
        {
            Capabilities = new ModelScores { CodeGeneration = code, Reasoning = reasoning, Reliability = reliability },
            TypicalLatencyMs = latencyMs,
        };

    private static CandidateDraft Draft(CatalogModel model, double capability, ModelStats? stats = null, double multiplier = 1, CircuitState circuit = CircuitState.Closed,
        double latencyMs = 1000, double relativeCost = 0.01) =>
        new(model, 0, capability, capability, 100, relativeCost, relativeCost, latencyMs, [], [], multiplier, new CircuitStatus(circuit, 0, TimeSpan.Zero),
            stats ?? ModelStats.Empty, ModelStats.Empty);

    private static RankedCandidate Ranked(CandidateDraft d, double score) =>
        new(new RouteCandidate(d.Model, score, d.Reasons, d.Breakdown, d.MaxTokens), d, score);

    [Fact]
    public void ContextWindowCheck_LeavesOutWhatCannotHoldAMinimalAnswer_ClampsTheRestWithTheFloorFromOptions()
    {
        var model = Model() with { ContextWindow = 1_500, MaxOutputTokens = 0 };
        var check = new ContextWindowCheck(256, new RoutingScoringOptions());

        Assert.Equal(1.0, check.Evaluate(model, Moderate, 400).Fit);
        var clamped = check.Evaluate(model, Moderate, 1_000);
        Assert.Null(clamped.Rejection);
        Assert.Equal(500, clamped.OutputCap);
        Assert.Equal(1_000, clamped.UnclampedOutput);
        Assert.Equal(0.5 + 0.5 * 500 / 1_000, clamped.Fit);
        Assert.Contains("max_tokens clamped from 1000 to 500 to fit its 1500-token window with 1000 input tokens", clamped.Reasons);
        Assert.Equal(0.2 + 0.8 * 500 / 1_000, new ContextWindowCheck(256, new RoutingScoringOptions { ClampedFitFloor = 0.2 }).Evaluate(model, Moderate, 1_000).Fit);

        var rejected = check.Evaluate(model with { ContextWindow = 1_100 }, Moderate, 1_000);
        Assert.Equal("p/m: input of 1000 tokens leaves 100 of its 1100-token window, less than the 256 an answer needs", rejected.Rejection);
    }

    [Fact]
    public void CapabilityRule_WeighsCodeReasoningFitAndReliabilityAgainstTheRequirement_ObservedReliabilityReplacesTheCatalogs()
    {
        // Moderate general requirement: code 0.7, reasoning 0.7, reliability 0.85.
        var model = Model(code: 0.7, reasoning: 0.35, reliability: 0.85);
        var result = new CapabilityRule(5, new RoutingScoringOptions()).Evaluate(model, Moderate, 0.5, ModelStats.Empty, ModelStats.Empty, "general");
        Assert.Equal(0.3 * 1 + 0.3 * 0.5 + 0.2 * 0.5 + 0.2 * 1, result.Capability, 10);
        Assert.Null(result.Observed);

        var weights = new RoutingScoringOptions { CodeGenerationWeight = 0, ReasoningWeight = 1, ContextFitWeight = 0, ReliabilityWeight = 0 };
        Assert.Equal(0.5, new CapabilityRule(5, weights).Evaluate(model, Moderate, 1, ModelStats.Empty, ModelStats.Empty, "general").Capability, 10);

        var failing = new ModelStats { Attempts = 10, Failures = 5, LastError = "overloaded" };
        var observed = new CapabilityRule(5, new RoutingScoringOptions()).Evaluate(model, Moderate, 1, failing, ModelStats.Empty, "general");
        Assert.Equal(0.5 / 0.85, observed.Reliability, 10);
        Assert.Equal(observed.Capability + 0.2 * (1 - 0.5 / 0.85), observed.Prior, 10);
        Assert.Equal("observed reliability 0.50 over 10 recent attempts over all task types (catalog 0.85); last error overloaded", observed.Observed);
    }

    [Fact]
    public void CostRule_WorstCaseAgainstTheTighterBudget_ScoreAndPenaltyRelativeToTheCheapest()
    {
        var model = Model(price: 2); // 2 in, 8 out per 1M
        var (worst, relative) = CostRule.Estimate(model, 1_000, 500, 1_000);
        Assert.Equal((1_000 * 2 + 500 * 8) / 1e6, worst, 12);
        Assert.Equal((1_000 * 2 + 1_000 * 8) / 1e6, relative, 12);

        Assert.Equal(0.5, CostRule.Limit(1, 0.5));
        Assert.Equal(1, CostRule.Limit(1, null));
        Assert.Null(CostRule.Limit(null, null));
        Assert.Equal("p/m: worst-case cost $0.006 exceeds the budget of $0.005", CostRule.OverBudget(model, worst, 0.005));
        Assert.Null(CostRule.OverBudget(model, worst, 0.006));

        Assert.Equal(0.25, CostRule.Score(0.04, 0.01));
        Assert.Equal(1, CostRule.Score(0, 0));
        Assert.Equal(0.1 * 0.75, CostRule.Penalty(0.1, 0.04, 0.01), 12);
    }

    [Fact]
    public void LatencyRule_CatalogLatencyWithDefaultFromOptions_ComparesLikeWithLike()
    {
        var rule = new LatencyRule(new RoutingScoringOptions { DefaultLatencyMs = 2_500 });
        Assert.Equal(2_500, rule.Catalog(Model(latencyMs: 0)));
        Assert.Equal(300, rule.Catalog(Model(latencyMs: 300)));
        Assert.Equal(1000, new LatencyRule(new RoutingScoringOptions()).Catalog(Model(latencyMs: 0)));
        Assert.Equal(0.5, LatencyRule.Score(2_000, 1_000));
        Assert.Equal(0.2 * 0.5, LatencyRule.Penalty(0.2, 2_000, 1_000), 12);

        var seen = new ModelStats { Alpha = 5, Attempts = 5, LatencyMs = 800 };
        var unseen = ModelStats.Empty;
        var (source, latencies) = LatencyRule.Comparable([Draft(Model("a"), 1, seen, latencyMs: 1000), Draft(Model("b"), 1, unseen, latencyMs: 3000)], 5, "general");
        Assert.Equal("catalog", source);
        Assert.Equal([1000.0, 3000.0], latencies);
        (source, latencies) = LatencyRule.Comparable([Draft(Model("a"), 1, seen, latencyMs: 1000), Draft(Model("b"), 1, seen, latencyMs: 3000)], 5, "general");
        Assert.Equal("observed", source);
        Assert.Equal([800.0, 800.0], latencies);
    }

    [Fact]
    public void ObjectiveRule_BlendsByTheObjectivesWeights_PenaltyWeightsScaleRelativeToBalanced()
    {
        var rule = new ObjectiveRule(new RoutingScoringOptions());
        Assert.Equal((0.1, 0.1), rule.Weights(RoutingObjective.Unspecified));
        Assert.Equal((0.0, 0.0), rule.Weights(RoutingObjective.Quality));
        Assert.Equal((0.5, 0.05), rule.Weights(RoutingObjective.Cost));
        Assert.Equal((0.05, 0.5), rule.Weights(RoutingObjective.Latency));
        Assert.Equal((0.8 * 0.9 + 0.1 * 0.5 + 0.1 * 1) * 1.2, rule.Blend(RoutingObjective.Balanced, 0.9, 0.5, 1, 1.2), 12);
        Assert.Equal(0.9, rule.Blend(RoutingObjective.Quality, 0.9, 0.5, 1, 1), 12);
        var (costPenalty, latencyPenalty) = rule.PenaltyWeights(RoutingObjective.Cost, 0.2, 0.2);
        Assert.Equal(1.0, costPenalty);
        Assert.Equal(0.1, latencyPenalty, 12);

        var custom = new ObjectiveRule(new RoutingScoringOptions { Quality = new ObjectiveWeights { Cost = 0.2, Latency = 0 } });
        Assert.Equal(0.8 * 0.9 + 0.2 * 0.5, custom.Blend(RoutingObjective.Quality, 0.9, 0.5, 1, 1), 12);
    }

    [Fact]
    public void PreferenceRule_PreferredModelAndCheapModelOnASimpleTask_MultipliersFromOptions()
    {
        var reasons = new List<string>();
        var breakdown = new Dictionary<string, double>();
        var task = new TaskRequest { TaskType = TaskType.CodeGeneration, Prompt = "x", ModelPreferences = new Dictionary<string, string> { ["p"] = "m" } };
        var cheap = Model(price: 0.1);

        Assert.Equal(1.2 * 1.1, new PreferenceRule(new RoutingScoringOptions()).Apply(task, cheap, 0.2, reasons, breakdown), 12);
        Assert.Equal(["preferred by the caller (×1.2)", "cheap model for a simple task (×1.1)"], reasons);
        Assert.Equal(1.2, breakdown["preference"]);
        Assert.Equal(1.1, breakdown["cheap_bonus"]);

        var weights = new RoutingScoringOptions { PreferenceMultiplier = 2, SimpleTaskComplexity = 0.1 };
        Assert.Equal(2, new PreferenceRule(weights).Apply(task, cheap, 0.2, [], []));
        Assert.Equal(1, new PreferenceRule(new RoutingScoringOptions()).Apply(task with { ModelPreferences = new Dictionary<string, string>() }, Model(price: 5), 0.2, [], []));
        Assert.True(PreferenceRule.IsPreferred(task with { ModelPreferences = new Dictionary<string, string>(), PreferredProviders = ["P"] }, cheap));
    }

    [Fact]
    public void HealthRule_DegradedAndUnhealthyProvidersFromOptions_CircuitExplainedButNotScored()
    {
        var rule = new HealthRule(new RoutingScoringOptions { DegradedMultiplier = 0.7 });
        var closed = new CircuitStatus(CircuitState.Closed, 0, TimeSpan.Zero);
        Assert.Equal(1, rule.Apply(new ProviderHealth(HealthState.Healthy, ""), closed, [], []));

        var reasons = new List<string>();
        var breakdown = new Dictionary<string, double>();
        Assert.Equal(0.7, rule.Apply(new ProviderHealth(HealthState.Degraded, "3 failures"), closed, reasons, breakdown));
        Assert.Equal(["provider degraded: 3 failures (×0.70)"], reasons);
        Assert.Equal(0.7, breakdown["health"]);
        Assert.Equal(0.5, new HealthRule(new RoutingScoringOptions()).Apply(new ProviderHealth(HealthState.Unhealthy, "down"), closed, [], []));

        var open = new List<string>();
        var openCircuit = new CircuitStatus(CircuitState.Open, 4, TimeSpan.FromSeconds(12));
        Assert.Equal(1, rule.Apply(new ProviderHealth(HealthState.Healthy, ""), openCircuit, open, []));
        Assert.Equal(["circuit open for 12 s more after 4 consecutive failures: tried last"], open);
        Assert.Equal(1, HealthRule.OrderKey(openCircuit));
        Assert.Equal(0, HealthRule.OrderKey(new CircuitStatus(CircuitState.HalfOpen, 4, TimeSpan.Zero)));
    }

    [Fact]
    public void LearnedRewardRule_LearnedEvidenceMovesTheBetterModelFirst_SkippedForANamedModelOrWhenOff()
    {
        var options = new RoutingOptions { ExplorationRate = 0, ExplorationFloor = 0 };
        var rule = new LearnedRewardRule(new ThompsonSamplingBandit(Options.Create(options), new BanditRandom(1)), options, new ObjectiveRule(new RoutingScoringOptions()));
        var task = new TaskRequest { TaskType = TaskType.CodeGeneration, Prompt = "x" };
        // The static leader has failed 30 times; the runner-up has succeeded 30 times.
        var leader = Ranked(Draft(Model("a"), 0.9, new ModelStats { Beta = 30, Attempts = 30, Failures = 30 }), 0.9);
        var runnerUp = Ranked(Draft(Model("b"), 0.85, new ModelStats { Alpha = 27, Beta = 3, Attempts = 30 }), 0.85);
        var planReasons = new List<string>();

        Assert.Equal(1, rule.Choose(task, "code_generation", [leader, runnerUp], planReasons, out var posteriors));
        Assert.StartsWith("bandit (thompson sampling, exploration rate 0.00) chose p/b among p/a ", planReasons[0], StringComparison.Ordinal);
        Assert.Equal(2, posteriors.Count);
        Assert.True(runnerUp.Breakdown["posterior_mean"] > leader.Breakdown["posterior_mean"]);
        Assert.Contains(runnerUp.Reasons, r => r.StartsWith("learned on code_generation: posterior mean", StringComparison.Ordinal));

        var named = task with { ModelPreferences = new Dictionary<string, string> { ["p"] = "a" } };
        Assert.Equal(0, rule.Choose(named, "code_generation", [leader, runnerUp], [], out _));
        var off = new RoutingOptions { BanditCandidates = 1 };
        Assert.Equal(0, new LearnedRewardRule(new ThompsonSamplingBandit(Options.Create(off), new BanditRandom(1)), off, new ObjectiveRule(new RoutingScoringOptions()))
            .Choose(task, "code_generation", [leader, runnerUp], [], out _));
    }

    [Fact]
    public void ConfidenceRule_ContextCapabilityAndComplexity_PenalisedLeader_WeightsFromOptions()
    {
        var options = new RoutingOptions();
        var bandit = new ThompsonSamplingBandit(Options.Create(options), new BanditRandom(1));
        var top = Ranked(Draft(Model(), 0.8), 0.8);
        Assert.Equal(Math.Round(0.4 * 0.5 + 0.6 * 0.8 - 0.2 * 0.5, 3), new ConfidenceRule(bandit, new RoutingScoringOptions()).Compute(Moderate, top, new Dictionary<string, (double, double)>()));

        var penalised = Ranked(Draft(Model(), 0.8, multiplier: 0.85), 0.8);
        Assert.Equal(Math.Round((0.4 * 0.5 + 0.6 * 0.8 - 0.2 * 0.5) * 0.9, 3), new ConfidenceRule(bandit, new RoutingScoringOptions()).Compute(Moderate, penalised, new Dictionary<string, (double, double)>()));

        var weights = new RoutingScoringOptions { GeneralContextConfidence = 1, ConfidenceComplexityWeight = 0 };
        Assert.Equal(Math.Round(0.4 * 1 + 0.6 * 0.8, 3), new ConfidenceRule(bandit, weights).Compute(Moderate, top, new Dictionary<string, (double, double)>()));

        var learned = Ranked(Draft(Model(), 0.8, new ModelStats { Alpha = 8, Beta = 2, Attempts = 10 }), 0.8);
        var posteriors = new Dictionary<string, (double, double)> { ["p/m"] = (9, 1) };
        Assert.Equal(Math.Round(0.7 * (0.4 * 0.5 + 0.6 * 0.8 - 0.2 * 0.5) + 0.3 * 0.9, 3), new ConfidenceRule(bandit, new RoutingScoringOptions()).Compute(Moderate, learned, posteriors));
    }

    [Fact]
    public void RoutingScoringOptions_DefaultsAreTheOldConstants_BoundFromConfiguration_ValidatedAtStart()
    {
        using var defaults = Services([]);
        var d = defaults.GetRequiredService<IOptions<RoutingScoringOptions>>().Value;
        Assert.Equal([0.3, 0.3, 0.2, 0.2, 0.5, 1.2, 1.1, 1.0, 0.4, 0.85, 0.5, 1000],
            [d.CodeGenerationWeight, d.ReasoningWeight, d.ContextFitWeight, d.ReliabilityWeight, d.ClampedFitFloor, d.PreferenceMultiplier, d.CheapModelMultiplier,
             d.CheapPricePerMillion, d.SimpleTaskComplexity, d.DegradedMultiplier, d.UnhealthyMultiplier, d.DefaultLatencyMs]);

        using var bound = Services(new() { ["MonkeyCoder:Routing:Scoring:PreferenceMultiplier"] = "1.5", ["MonkeyCoder:Routing:Scoring:Cost:Latency"] = "0.2" });
        var b = bound.GetRequiredService<IOptions<RoutingScoringOptions>>().Value;
        Assert.Equal(1.5, b.PreferenceMultiplier);
        Assert.Equal(0.5, b.Cost.Cost);
        Assert.Equal(0.2, b.Cost.Latency);

        using var invalid = Services(new() { ["MonkeyCoder:Routing:Scoring:Balanced:Cost"] = "2" });
        var ex = Assert.Throws<OptionsValidationException>(() => invalid.GetRequiredService<IOptions<RoutingScoringOptions>>().Value);
        Assert.Contains("Balanced.Cost", ex.Message, StringComparison.Ordinal);

        static ServiceProvider Services(Dictionary<string, string?> settings)
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            return new ServiceCollection().AddLogging().AddMonkeyCoderRouting(configuration).BuildServiceProvider();
        }
    }
}
