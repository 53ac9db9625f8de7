using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
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
/// Named models planned by the router (<see cref="RoutePins"/>): the pinned model, its catalog
/// chain and the caller's fallbacks, in that order, under the router's window, budget and circuit
/// checks with the router's explanations.
/// </summary>
public sealed class PinnedRoutingTests
{
    private static readonly CatalogModel Small = TestCatalog.Model("small", "p1", window: 300) with { Fallbacks = ["big", "p2/other"] };
    private static readonly CatalogModel Big = TestCatalog.Model("big", "p1", window: 128_000, code: 0.3, reasoning: 0.3);
    private static readonly CatalogModel Other = TestCatalog.Model("other", "p2", window: 128_000, code: 0.95, reasoning: 0.95);
    private static readonly CatalogModel Offline = TestCatalog.Model("gone", "p3");

    private sealed class FixedBudget(double? remaining) : IRoutingBudget
    {
        public ValueTask<double?> RemainingUsdAsync(TaskRequest task, CancellationToken cancellationToken) => ValueTask.FromResult(remaining);
    }

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly CircuitBreaker _breaker;
    private readonly ModelCatalog _catalog = TestCatalog.Of(Small, Big, Other, Offline);

    public PinnedRoutingTests()
    {
        _breaker = new CircuitBreaker(new InMemoryCircuitBreakerStore(), _time,
            Microsoft.Extensions.Options.Options.Create(new ExecutionOptions { BreakerFailureThreshold = 2 }), NullLogger<CircuitBreaker>.Instance);
    }

    private ITaskRouter Router(IRoutingBudget? budget = null)
    {
        // Seed and default bandit settings: learning is on, and must not reorder a pinned plan.
        var options = Microsoft.Extensions.Options.Options.Create(new RoutingOptions { RandomSeed = 3 });
        return new CapabilityRouter(new TaskAnalyzer(TestCatalog.Tokens), _catalog,
            new ProviderRegistry([new FakeProvider("p1", _time), new FakeProvider("p2", _time)]), new ProviderHealthMonitor(), _breaker,
            new InMemoryRouterStatsStore(options, _time), new ThompsonSamplingBandit(options, new BanditRandom(3)), budget ?? new FixedBudget(null), options,
            NullLogger<CapabilityRouter>.Instance);
    }

    private static TaskRequest Task(string prompt = "write a function that adds two numbers", int maxTokens = 64) =>
        new() { TaskType = TaskType.CodeGeneration, Prompt = prompt, MaxTokens = maxTokens, Strategy = Strategy.Quantum };

    private static readonly string LongPrompt = string.Join(' ', Enumerable.Repeat("word", 400));

    [Fact]
    public async Task PlanAsync_PinnedModelFits_PinThenChainThenCallerFallbacksInThatOrderWhateverTheScores()
    {
        var plan = await Router().PlanAsync(Task(), new RoutePins([Small], [Offline, Other]), CancellationToken.None);

        // "other" scores higher than "big", yet the catalog chain comes first; the bandit does not reorder it.
        Assert.Equal(["p1/small", "p1/big", "p2/other"], plan.Candidates.Select(c => c.Model.Key));
        Assert.True(plan.Candidates[2].Score > plan.Candidates[1].Score);
        Assert.Equal(["requested by the caller", "catalog fallback of p1/small", "catalog fallback of p1/small"], plan.Candidates.Select(c => c.Reasons[0]));
        Assert.Equal([0.0, 1, 2], plan.Candidates.Select(c => c.Breakdown["position"]));
        Assert.Equal(Strategy.Single, plan.Strategy);
        Assert.Equal("small", plan.Task.ModelPreferences["p1"]);
        Assert.Equal(1.2, plan.Candidates[0].Breakdown["preference"]);
        Assert.Contains("left out p3/gone: provider 'p3' is not enabled", plan.Reasons);
        Assert.DoesNotContain(plan.Reasons, r => r.StartsWith("bandit", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlanAsync_PinnedWindowTooSmall_LeftOutWithTheRoutersReasonAndTheChainGoesFirst()
    {
        var plan = await Router().PlanAsync(Task(LongPrompt), new RoutePins([Small], []), CancellationToken.None);

        Assert.Equal(["p1/big", "p2/other"], plan.Candidates.Select(c => c.Model.Key));
        var left = Assert.Single(plan.Reasons, r => r.StartsWith("left out p1/small", StringComparison.Ordinal));
        Assert.Matches(@"^left out p1/small: input of \d+ tokens leaves \d+ of its 300-token window, less than the 64 an answer needs$", left);
        Assert.Equal("p1/big goes first of 2 (score " + plan.Candidates[0].Score.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) + ")", plan.Reasons[^1]);
    }

    [Fact]
    public async Task PlanAsync_PinnedCircuitOpen_ChainFirstAndThePinTriedLastWithTheReason()
    {
        await _breaker.OnFailureAsync("p1/small", ProviderErrorClass.Overloaded, CancellationToken.None);
        await _breaker.OnFailureAsync("p1/small", ProviderErrorClass.Overloaded, CancellationToken.None);

        var plan = await Router().PlanAsync(Task(), new RoutePins([Small], []), CancellationToken.None);

        Assert.Equal(["p1/big", "p2/other", "p1/small"], plan.Candidates.Select(c => c.Model.Key));
        Assert.Contains(plan.Candidates[2].Reasons, r => r.StartsWith("circuit open for ", StringComparison.Ordinal) && r.EndsWith("after 2 consecutive failures: tried last", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlanAsync_PinnedOverBudget_LeftOutAndTheChainGoesFirst_AllOverBudget_BudgetExceeded()
    {
        var expensive = TestCatalog.Model("gold", "p1", price: 1000) with { Fallbacks = ["big"] };
        var plan = await Router().PlanAsync(Task(), new RoutePins([expensive], []), CancellationToken.None);
        Assert.Equal(["p1/gold", "p1/big"], plan.Candidates.Select(c => c.Model.Key));

        var limited = await Router(new FixedBudget(0.01)).PlanAsync(Task(), new RoutePins([expensive], []), CancellationToken.None);
        Assert.Equal(["p1/big"], limited.Candidates.Select(c => c.Model.Key));
        Assert.Contains(limited.Reasons, r => r.StartsWith("left out p1/gold: worst-case cost $", StringComparison.Ordinal));

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await Router(new FixedBudget(0.000001)).PlanAsync(Task(), new RoutePins([expensive], []), CancellationToken.None));
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal("BUDGET_EXCEEDED", ex.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>().Reason);
    }

    [Fact]
    public async Task PlanAsync_NothingInTheChainCanTakeTheTask_NoModelAvailableNamingEveryReason()
    {
        var lone = Small with { Fallbacks = [] };
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await Router().PlanAsync(Task(LongPrompt), new RoutePins([lone], [Offline]), CancellationToken.None));

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        var info = ex.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>();
        Assert.Equal("NO_MODEL_AVAILABLE", info.Reason);
        Assert.Equal("p1/small", info.Metadata["model"]);
        Assert.Contains("300-token window", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("provider 'p3' is not enabled", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlanAsync_CatalogChainOutsideTheAllowList_LeftOutOfThePlan()
    {
        var plan = await Router().PlanAsync(Task() with { AllowedModels = ["p1/small", "p2/other"] }, new RoutePins([Small], []), CancellationToken.None);

        Assert.Equal(["p1/small", "p2/other"], plan.Candidates.Select(c => c.Model.Key));
    }

    [Fact]
    public async Task PlanAsync_NothingPinned_RankingThenCallerFallbacksNotAlreadyRanked()
    {
        var router = Router();
        var ranked = await router.PlanAsync(Task() with { PreferredProviders = ["p2"] }, CancellationToken.None);
        var plan = await router.PlanAsync(Task() with { PreferredProviders = ["p2"] }, new RoutePins([], [Other, Big, Offline, Big]), CancellationToken.None);

        Assert.Equal(["p2/other"], ranked.Candidates.Select(c => c.Model.Key));
        Assert.Equal(["p2/other", "p1/big"], plan.Candidates.Select(c => c.Model.Key));
        Assert.Equal(["fallback listed by the caller"], plan.Candidates[1].Reasons);
        Assert.Equal(0, plan.Candidates[1].Score);
    }

    private static readonly ToolDefinition ReadFile = new("read_file", null, """{"type":"object"}""");

    [Fact]
    public async Task Plan_PinnedModelLacksAFeatureTheRequestUses_InvalidArgumentNamingFeatureAndModel()
    {
        var task = Task() with { Tools = [ReadFile] };

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await Router().PlanAsync(task, new RoutePins([Small], []), CancellationToken.None));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("tools", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(Small.Key, ex.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("MODEL_LACKS_FEATURE", ex.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>()!.Reason);
    }

    [Fact]
    public async Task Plan_NoModelHasTheFeature_InvalidArgumentNamingIt_WithoutFeaturesUnchanged()
    {
        // The test catalog's models are simulated: no tools, no images.
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await Router().PlanAsync(Task() with { PromptImages = [new ImagePart { Url = "https://example.com/a.png" }] }, RoutePins.None, CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("NO_MODEL_SUPPORTS_FEATURE", ex.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>()!.Reason);
        Assert.Contains("images", ex.Status.Detail, StringComparison.Ordinal);

        var plan = await Router().PlanAsync(Task(), RoutePins.None, CancellationToken.None);
        Assert.NotEmpty(plan.Candidates);
    }
}
