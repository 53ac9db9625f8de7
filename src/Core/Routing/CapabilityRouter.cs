using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.Core.Routing.Scoring;
using MonkeyCoder.V1;
using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing;

/// <summary>
/// Ranks the enabled catalog models for a task — or plans the caller's pinned models and their
/// chains (<see cref="RoutePins"/>) — and explains every score (see README.md here). The scoring
/// is a sequence of named rules in <c>Scoring/</c> with weights in <see cref="RoutingScoringOptions"/>:
/// hard constraints (<see cref="ContextWindowCheck"/>, budget in <see cref="CostRule"/>), then
/// <see cref="CapabilityRule"/>, <see cref="PreferenceRule"/>, <see cref="HealthRule"/>,
/// <see cref="ObjectiveRule"/> blending <see cref="CostRule"/> and <see cref="LatencyRule"/>, the
/// <see cref="LearnedRewardRule"/> (bandit) and <see cref="ConfidenceRule"/>. Never calls a provider.
/// </summary>
internal sealed partial class CapabilityRouter : ITaskRouter
{
    private readonly ModelCatalog _catalog;
    private readonly TaskAnalyzer _analyzer;
    private readonly ProviderRegistry _providers;
    private readonly ProviderHealthMonitor _health;
    private readonly CircuitBreaker _breaker;
    private readonly IRouterStatsStore _stats;
    private readonly IRoutingBudget _budget;
    private readonly ILogger<CapabilityRouter> _logger;
    private readonly ContextWindowCheck _window;
    private readonly CapabilityRule _capability;
    private readonly PreferenceRule _preference;
    private readonly HealthRule _healthRule;
    private readonly LatencyRule _latency;
    private readonly ObjectiveRule _objective;
    private readonly LearnedRewardRule _learned;
    private readonly ConfidenceRule _confidence;

    /// <summary>A candidate's reasons: pin, capability, objective, window (2), observed, preferences (2), health (2), latency, bandit.</summary>
    private const int ReasonCapacity = 12;

    /// <summary>A candidate's breakdown: capability (5), preference, cheap bonus, health, position, cost, latency, bandit (3).</summary>
    private const int BreakdownCapacity = 14;

    private static readonly IReadOnlyList<Persona> DefaultPipeline = Array.AsReadOnly<Persona>([Persona.Architect, Persona.Developer, Persona.Reviewer]);

    /// <summary>Closed (or half-open) circuits first, then the caller's order.</summary>
    private static readonly Comparison<RankedCandidate> PinnedOrder = static (x, y) =>
    {
        var health = HealthRule.OrderKey(x.Draft.Circuit).CompareTo(HealthRule.OrderKey(y.Draft.Circuit));
        return health != 0 ? health : x.Draft.Order.CompareTo(y.Draft.Order);
    };

    /// <summary>Closed (or half-open) circuits first, then higher score, then cheaper, then catalog order.</summary>
    private static readonly Comparison<RankedCandidate> RankedOrder = static (x, y) =>
    {
        var order = HealthRule.OrderKey(x.Draft.Circuit).CompareTo(HealthRule.OrderKey(y.Draft.Circuit));
        if (order == 0)
        {
            order = y.Candidate.Score.CompareTo(x.Candidate.Score);
        }

        if (order == 0)
        {
            order = x.Draft.CostUsd.CompareTo(y.Draft.CostUsd);
        }

        return order != 0 ? order : x.Draft.Order.CompareTo(y.Draft.Order);
    };

    /// <summary>A router with the default scoring weights.</summary>
    public CapabilityRouter(TaskAnalyzer analyzer, ModelCatalog catalog, ProviderRegistry providers, ProviderHealthMonitor health, CircuitBreaker breaker,
        IRouterStatsStore stats, ThompsonSamplingBandit bandit, IRoutingBudget budget, IOptions<RoutingOptions> options, ILogger<CapabilityRouter> logger)
        : this(analyzer, catalog, providers, health, breaker, stats, bandit, budget, options, Options.Create(new RoutingScoringOptions()), logger)
    {
    }

    internal CapabilityRouter(TaskAnalyzer analyzer, ModelCatalog catalog, ProviderRegistry providers, ProviderHealthMonitor health, CircuitBreaker breaker,
        IRouterStatsStore stats, ThompsonSamplingBandit bandit, IRoutingBudget budget, IOptions<RoutingOptions> options, IOptions<RoutingScoringOptions> scoring,
        ILogger<CapabilityRouter> logger)
    {
        _analyzer = analyzer;
        _catalog = catalog;
        _providers = providers;
        _health = health;
        _breaker = breaker;
        _stats = stats;
        _budget = budget;
        _logger = logger;
        var routing = options.Value;
        var weights = scoring.Value;
        _window = new ContextWindowCheck(routing.MinOutputTokens, weights);
        _capability = new CapabilityRule(routing.MinSamplesForObservedLatency, weights);
        _preference = new PreferenceRule(weights);
        _healthRule = new HealthRule(weights);
        _latency = new LatencyRule(weights);
        _objective = new ObjectiveRule(weights);
        _learned = new LearnedRewardRule(bandit, routing, _objective);
        _confidence = new ConfidenceRule(bandit, weights);
    }

    public ValueTask<RoutePlan> PlanAsync(TaskRequest task, CancellationToken cancellationToken) => PlanAsync(task, RoutePins.None, cancellationToken);

    ValueTask<RoutePlan> ITaskRouter.PlanAsync(TaskRequest task, RoutePins pins, CancellationToken cancellationToken) => PlanAsync(task, pins, cancellationToken);

    internal async ValueTask<RoutePlan> PlanAsync(TaskRequest task, RoutePins pins, CancellationToken cancellationToken)
    {
        var pinned = pins.Models.Count > 0;
        var rejected = new List<string>();
        if (pinned)
        {
            // Part of the cache key: an answer for one model is never served for a request naming another.
            task = task with { ModelPreferences = Named(pins) };
        }

        var field = pinned ? Chain(pins, task.AllowedModels, rejected) : Field(task);
        field = WithFeatures(task.RequiredFeatures, field, pinned ? pins.Models[0] : null, rejected);
        var analysis = _analyzer.Analyze(task);
        if (task.AllowedModels is { Count: > 0 })
        {
            var models = new List<CatalogModel>(field.Count);
            foreach (var (model, _) in field)
            {
                models.Add(model);
            }

            var allowed = AllowList(task, models);
            field = field.Where(x => allowed.Contains(x.Model)).ToList();
        }

        var taskClass = LearningKeys.TaskClass(analysis);
        // Each model's shared key, then its key on this task type.
        var statKeys = new string[2 * field.Count];
        for (var i = 0; i < field.Count; i++)
        {
            statKeys[i] = field[i].Model.Key;
            statKeys[field.Count + i] = LearningKeys.ForTask(statKeys[i], taskClass);
        }

        var keys = new ArraySegment<string>(statKeys, 0, field.Count);
        // Three independent reads, sent together: with a shared store (Redis) one round trip instead of three in a row.
        var learnedRead = _stats.GetAsync(statKeys, cancellationToken);
        var circuitsRead = _breaker.DescribeAsync(keys, cancellationToken);
        var circuitsReadAt = _breaker.Timestamp();
        var remainingRead = _budget.RemainingUsdAsync(task, cancellationToken);
        IReadOnlyDictionary<string, ModelStats> learned;
        IReadOnlyDictionary<string, CircuitStatus> circuits;
        double? remaining;
        if (learnedRead.IsCompletedSuccessfully && circuitsRead.IsCompletedSuccessfully && remainingRead.IsCompletedSuccessfully)
        {
            (learned, circuits, remaining) = (learnedRead.Result, circuitsRead.Result, remainingRead.Result);
        }
        else
        {
            var (l, c, r) = (learnedRead.AsTask(), circuitsRead.AsTask(), remainingRead.AsTask());
            try
            {
                learned = await l;
            }
            finally
            {
                // Every read is awaited, so none is left unobserved when another fails.
                await Task.WhenAll(c, r).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            (circuits, remaining) = (await c, await r);
        }

        var maxCost = CostRule.Limit(task.MaxCostUsd, remaining);
        // The same for every model of this plan.
        var requirement = CapabilityRule.Requirement(analysis.Level, analysis.Context, analysis.Persona);

        var drafts = new List<CandidateDraft>(field.Count);
        var budgetRejections = 0;
        for (var order = 0; order < field.Count; order++)
        {
            var (model, pinReason) = field[order];
            var stats = learned.GetValueOrDefault(statKeys[order]) ?? ModelStats.Empty;
            var taskStats = learned.GetValueOrDefault(statKeys[field.Count + order]) ?? ModelStats.Empty;
            var (draft, rejection, overBudget) = Evaluate(task, analysis, requirement, taskClass, model, order, pinReason, maxCost, stats, taskStats, circuits.GetValueOrDefault(model.Key), circuitsReadAt);
            if (draft is null)
            {
                rejected.Add(rejection!);
                budgetRejections += overBudget ? 1 : 0;
                continue;
            }

            if (pinReason is not null)
            {
                draft.Breakdown["position"] = drafts.Count;
            }

            drafts.Add(draft);
        }

        if (drafts.Count == 0)
        {
            throw NoCandidate(pinned ? pins.Models[0] : null, rejected, budgetRejections);
        }

        var ordered = Rank(drafts, task.Objective, pinned);
        // Closed (or half-open) circuits first; within each group the caller's order for pinned
        // models, else score, then cheaper, then catalog order. Order is unique, so this sort
        // gives what a stable one would.
        ordered.Sort(pinned ? PinnedOrder : RankedOrder);

        var planReasons = new ReasonList(rejected.Count + 4);
        if (pinned)
        {
            planReasons.Add("model named by the caller: " + pins.Models[0].Key);
        }

        foreach (var reason in rejected)
        {
            planReasons.Add("left out " + reason);
        }

        var chosen = _learned.ChooseFirst(task, taskClass, ordered, planReasons, out var posteriors);
        if (chosen > 0)
        {
            var pick = ordered[chosen];
            ordered.RemoveAt(chosen);
            ordered.Insert(0, pick);
        }

        var top = ordered[0];
        var summary = new PlanReasons(analysis, top.Candidate, ordered.Count);
        planReasons.Insert(pinned ? 1 : 0, summary, PlanReasons.AnalysisPart);
        planReasons.Add(summary, PlanReasons.FirstPart);
        var candidates = new List<RouteCandidate>(ordered.Count + (pinned ? 0 : pins.Fallbacks.Count));
        foreach (var x in ordered)
        {
            candidates.Add(x.Candidate);
        }

        if (!pinned && pins.Fallbacks.Count > 0)
        {
            candidates.AddRange(CallerFallbacks(pins, candidates));
        }

        var plan = new RoutePlan
        {
            Task = task,
            Analysis = analysis,
            Strategy = pinned || task.Strategy == Strategy.Unspecified ? Strategy.Single : task.Strategy,
            Candidates = candidates,
            Confidence = _confidence.Compute(analysis, top, posteriors),
            Reasons = planReasons,
            CollapseStrategy = task.CollapseStrategy == CollapseStrategy.Unspecified ? CollapseStrategy.BestScore : task.CollapseStrategy,
            ParallelVariants = task.ParallelVariants > 0 ? task.ParallelVariants : 3,
            PipelinePersonas = task.PipelinePersonas.Count > 0 ? task.PipelinePersonas : DefaultPipeline,
        };
        Log.Planned(_logger, top.Candidate.Model.Key, candidates.Count, plan.Confidence);
        return plan;
    }

    /// <summary>Capability requirements by complexity level (<see cref="CapabilityRule.Requirement(ComplexityLevel)"/>).</summary>
    internal static (double CodeGeneration, double Reasoning, double Reliability) Requirement(ComplexityLevel level) => CapabilityRule.Requirement(level);

    /// <summary>Requirements raised by context and persona (<see cref="CapabilityRule.Requirement(ComplexityLevel, ContextType, Persona)"/>).</summary>
    internal static (double CodeGeneration, double Reasoning, double Reliability) Requirement(ComplexityLevel level, ContextType context, Persona persona) =>
        CapabilityRule.Requirement(level, context, persona);

    /// <summary>
    /// One model through the per-model rules: the window and budget checks (a rejection names why),
    /// then capability, preferences, health and catalog latency, with the reasons in the order a
    /// reader follows (pin reason, capability, window, observed reliability, multipliers, circuit, latency).
    /// </summary>
    private (CandidateDraft? Draft, string? Rejection, bool OverBudget) Evaluate(TaskRequest task, TaskProfile analysis,
        (double CodeGeneration, double Reasoning, double Reliability) requirement, string taskClass, CatalogModel model, int order,
        string? pinReason, double? maxCost, ModelStats stats, ModelStats taskStats, CircuitStatus circuit, long circuitReadAt)
    {
        var window = _window.Evaluate(model, analysis, task.MaxTokens);
        if (window.Rejection is { } tooSmall)
        {
            return (null, tooSmall, false);
        }

        var (cost, relativeCost) = CostRule.Estimate(model, window.Input, window.OutputCap, window.UnclampedOutput);
        if (CostRule.OverBudget(model, cost, maxCost) is { } overBudget)
        {
            return (null, overBudget, true);
        }

        var capability = _capability.Evaluate(model, analysis, requirement, window.Fit, stats, taskStats, taskClass);
        var reasons = new ReasonList(ReasonCapacity);
        if (pinReason is not null)
        {
            reasons.Add(pinReason);
        }

        reasons.Add(capability, 0);
        for (var part = 0; part < window.ReasonCount; part++)
        {
            reasons.Add(window, part);
        }

        if (capability.ObservedStats is not null)
        {
            reasons.Add(capability, 1);
        }

        var breakdown = new Dictionary<string, double>(BreakdownCapacity);
        CapabilityRule.Record(capability, breakdown);
        var multiplier = _preference.Apply(task, model, analysis.Complexity, reasons, breakdown);
        multiplier *= _healthRule.Apply(_health.Get(model.Provider), circuit, reasons, breakdown);
        var latency = _latency.Catalog(model);
        var draft = new CandidateDraft(model, order, capability.Capability, capability.Prior, window.OutputCap, cost, relativeCost, latency,
            reasons, breakdown, multiplier, circuit, stats, taskStats)
        { CircuitClosedAt = circuit.State == CircuitState.Closed ? circuitReadAt : 0 };
        reasons.Add(draft, 0);
        return (draft, null, false);
    }

    /// <summary>The pinned models as provider → model id (the first pin of each provider).</summary>
    private static Dictionary<string, string> Named(RoutePins pins)
    {
        var named = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in pins.Models)
        {
            named.TryAdd(model.Provider, model.Id);
        }

        return named;
    }

    /// <summary>Every enabled, non-deprecated model, narrowed to the caller's preferred providers when one of them is enabled.</summary>
    private List<(CatalogModel Model, string? Reason)> Field(TaskRequest task)
    {
        // A preference for an enabled provider narrows the field; others stay out of the plan.
        var narrow = task.PreferredProviders.Count > 0 && task.ModelPreferences.Count == 0 && _providers.IsEnabled(task.PreferredProviders);
        var catalog = _catalog.Models;
        var models = new List<(CatalogModel Model, string? Reason)>(catalog.Count);
        foreach (var m in catalog)
        {
            if (_providers.IsEnabled(m.Provider) && !m.IsDeprecated && (!narrow || Prefers(task.PreferredProviders, m.Provider)))
            {
                models.Add((m, null));
            }
        }

        return models;
    }

    private static bool Prefers(IReadOnlyList<string> providers, string provider)
    {
        foreach (var p in providers)
        {
            if (string.Equals(p, provider, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Each pinned model, then its catalog chain ("id" = same provider first, or "provider/id"; kept
    /// within the key's allow-list), then the caller's fallbacks — each model once; models of
    /// providers not enabled here are left out with the reason.
    /// </summary>
    private List<(CatalogModel Model, string? Reason)> Chain(RoutePins pins, IReadOnlyList<string>? allowed, List<string> rejected)
    {
        var chain = new List<(CatalogModel Model, string? Reason)>();
        foreach (var pin in pins.Models)
        {
            chain.Add((pin, "requested by the caller"));
            foreach (var name in pin.Fallbacks)
            {
                if (_catalog.Find(name, pin.Provider) is { } model && ModelAllowList.Allows(allowed, model))
                {
                    chain.Add((model, "catalog fallback of " + pin.Key));
                }
            }
        }

        chain.AddRange(pins.Fallbacks.Select(m => (m, (string?)"fallback listed by the caller")));
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var field = new List<(CatalogModel Model, string? Reason)>();
        foreach (var entry in chain.Where(x => seen.Add(x.Model.Key)))
        {
            if (_providers.IsEnabled(entry.Model.Provider))
            {
                field.Add(entry);
            }
            else
            {
                rejected.Add($"{entry.Model.Key}: provider '{entry.Model.Provider}' is not enabled");
            }
        }

        return field;
    }

    /// <summary>
    /// A model or provider the caller names must be on the key's list (else PERMISSION_DENIED);
    /// only listed models compete.
    /// </summary>
    private HashSet<CatalogModel> AllowList(TaskRequest task, List<CatalogModel> models)
    {
        if (task.AllowedModels is not { Count: > 0 } allowed)
        {
            return [.. models];
        }

        foreach (var (provider, id) in task.ModelPreferences)
        {
            if (_catalog.Find(id, provider) is not { } named || !ModelAllowList.Allows(allowed, named))
            {
                throw ModelAllowList.Refused(provider + "/" + id, allowed);
            }
        }

        foreach (var provider in task.PreferredProviders.Where(p => !models.Any(m => string.Equals(m.Provider, p, StringComparison.OrdinalIgnoreCase) && ModelAllowList.Allows(allowed, m))))
        {
            throw ModelAllowList.Refused(provider, allowed);
        }

        return [.. models.Where(m => ModelAllowList.Allows(allowed, m))];
    }

    /// <summary>Scores every draft: the objective's blend of capability, relative cost and relative latency, times the multipliers.</summary>
    private List<RankedCandidate> Rank(List<CandidateDraft> drafts, RoutingObjective objective, bool pinned)
    {
        var cheapest = drafts[0].RelativeCostUsd;
        var fastest = drafts[0].LatencyMs;
        foreach (var d in drafts)
        {
            cheapest = Extremes.Min(cheapest, d.RelativeCostUsd);
            fastest = Extremes.Min(fastest, d.LatencyMs);
        }

        var ranked = new List<RankedCandidate>(drafts.Count);
        foreach (var d in drafts)
        {
            var costScore = CostRule.Score(d.RelativeCostUsd, cheapest);
            var latencyScore = LatencyRule.Score(d.LatencyMs, fastest);
            var score = _objective.Blend(objective, d.Capability, costScore, latencyScore, d.Multiplier);
            var priorScore = _objective.Blend(objective, d.PriorCapability, costScore, latencyScore, d.Multiplier);
            d.Breakdown["cost"] = Round(costScore);
            d.Breakdown["latency"] = Round(latencyScore);
            // After the capability summary (and, for a pinned model, the reason it is in the plan).
            d.Reasons.Insert(pinned ? 2 : 1, new ObjectiveReason(_objective, objective, d.CostUsd, costScore, latencyScore), 0);
            ranked.Add(new RankedCandidate(new RouteCandidate(d.Model, Math.Round(score, 4), d.Reasons, d.Breakdown, d.MaxTokens) { CircuitClosedAt = d.CircuitClosedAt }, d, priorScore));
        }

        return ranked;
    }

    /// <summary>After a ranking, the caller's fallbacks not already ranked (enabled providers only), in the caller's order.</summary>
    private List<RouteCandidate> CallerFallbacks(RoutePins pins, List<RouteCandidate> ranked) => pins.Fallbacks
        .Where(m => _providers.IsEnabled(m.Provider) && ranked.All(c => !string.Equals(c.Model.Key, m.Key, StringComparison.OrdinalIgnoreCase)))
        .DistinctBy(m => m.Key, StringComparer.OrdinalIgnoreCase)
        .Select(m => new RouteCandidate(m, 0, ["fallback listed by the caller"], new Dictionary<string, double>()))
        .ToList();

    /// <summary>
    /// Keeps the models whose catalog features cover everything the request needs (tools, images,
    /// seed, penalties, JSON formats): an option is honoured or the call refused, never ignored. A pinned
    /// model that lacks one is refused (INVALID_ARGUMENT MODEL_LACKS_FEATURE); a chain fallback that lacks
    /// one is left out with the reason; when no model is left, INVALID_ARGUMENT NO_MODEL_SUPPORTS_FEATURE.
    /// </summary>
    private static List<(CatalogModel Model, string? Reason)> WithFeatures(RequestFeatures required, List<(CatalogModel Model, string? Reason)> field,
        CatalogModel? pinned, List<string> rejected)
    {
        if (required == RequestFeatures.None)
        {
            return field;
        }

        if (pinned is not null && (pinned.Features & required) != required)
        {
            var missing = FeatureNames(required & ~pinned.Features);
            throw RpcErrors.Create(StatusCode.InvalidArgument, "MODEL_LACKS_FEATURE",
                $"Model {pinned.Key} does not support {missing}, which this request uses; pick a model that does (GET /openai/v1/models lists them) or drop the option.",
                new Dictionary<string, string> { ["model"] = pinned.Key, ["feature"] = missing });
        }

        var kept = new List<(CatalogModel Model, string? Reason)>(field.Count);
        foreach (var entry in field)
        {
            if ((entry.Model.Features & required) == required)
            {
                kept.Add(entry);
            }
            else
            {
                rejected.Add($"{entry.Model.Key}: does not support {FeatureNames(required & ~entry.Model.Features)}");
            }
        }

        if (kept.Count == 0 && field.Count > 0)
        {
            var needed = FeatureNames(required);
            throw RpcErrors.Create(StatusCode.InvalidArgument, "NO_MODEL_SUPPORTS_FEATURE",
                $"No enabled model supports {needed}, which this request uses.",
                new Dictionary<string, string> { ["feature"] = needed });
        }

        return kept;
    }

    /// <summary>Request features as callers name them, e.g. "tools, images".</summary>
    internal static string FeatureNames(RequestFeatures features)
    {
        var names = new List<string>();
        if (features.HasFlag(RequestFeatures.Tools))
        {
            names.Add("tools");
        }

        if (features.HasFlag(RequestFeatures.Images))
        {
            names.Add("images");
        }

        if (features.HasFlag(RequestFeatures.Seed))
        {
            names.Add("seed");
        }

        if (features.HasFlag(RequestFeatures.Penalties))
        {
            names.Add("presence/frequency penalties");
        }

        if (features.HasFlag(RequestFeatures.JsonObject))
        {
            names.Add("response_format json_object");
        }

        if (features.HasFlag(RequestFeatures.JsonSchema))
        {
            names.Add("response_format json_schema");
        }

        return string.Join(", ", names);
    }

    private static RpcException NoCandidate(CatalogModel? named, List<string> rejected, int budgetRejections)
    {
        var reason = budgetRejections > 0 && budgetRejections == rejected.Count ? "BUDGET_EXCEEDED" : "NO_MODEL_AVAILABLE";
        if (named is not null)
        {
            return RpcErrors.Create(StatusCode.FailedPrecondition, reason,
                "No model in the request's chain can take this task: " + string.Join("; ", rejected) + ".",
                new Dictionary<string, string> { ["model"] = named.Key });
        }

        return RpcErrors.FailedPrecondition(reason, rejected.Count > 0
            ? "No enabled model can take this task: " + string.Join("; ", rejected)
            : "No enabled provider has a model for this task.");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.RoutePlanned, Level = LogLevel.Debug,
            Message = "Planned {Model} first of {Candidates} candidates (confidence {Confidence})")]
        public static partial void Planned(ILogger logger, string model, int candidates, double confidence);
    }
}
