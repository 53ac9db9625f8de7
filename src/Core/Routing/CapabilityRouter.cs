using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Routing;

/// <summary>
/// Ranks the enabled catalog models for a task and explains every score (see README.md here).
/// Capability is the original router's formula:
/// 0.3·min(cg/req,1) + 0.3·min(reasoning/req,1) + 0.2·window fit + 0.2·min(reliability/req,1),
/// with reliability observed once a model has enough outcomes. The objective blends in relative
/// cost and latency: (1 − wc − wl)·capability + wc·cheapest/cost + wl·fastest/latency. Then ×1.2
/// for the caller's preference, ×1.1 for a cheap model on a simple task, ×0.85/×0.5 for a
/// degraded/unhealthy provider. Models whose window cannot hold the input and a minimal answer,
/// or whose worst-case cost exceeds the budget, are left out; models with an open circuit go last.
/// Finally a Thompson-sampling bandit picks the first candidate among every eligible one (learned per task type).
/// Confidence = max(0.1, 0.4·context + 0.6·capability − 0.2·complexity), blended with the
/// leader's learned success once it has evidence. Never calls a provider.
/// </summary>
internal sealed partial class CapabilityRouter(
    TaskAnalyzer analyzer,
    ModelCatalog catalog,
    ProviderRegistry providers,
    ProviderHealthMonitor health,
    CircuitBreaker breaker,
    IRouterStatsStore stats,
    ThompsonSamplingBandit bandit,
    IRoutingBudget budget,
    IOptions<RoutingOptions> options,
    ILogger<CapabilityRouter> logger) : ITaskRouter
{
    /// <summary>Below this blended price (USD per 1M tokens) a model counts as cheap.</summary>
    private const double CheapPricePerMillion = 1.0;

    /// <summary>Latency assumed for a model whose catalog entry gives none, in ms.</summary>
    private const double DefaultLatencyMs = 1000;

    private readonly RoutingOptions _options = options.Value;

    private sealed record Draft(
        CatalogModel Model, int Order, double Capability, int MaxTokens, double CostUsd, double RelativeCostUsd, double LatencyMs,
        List<string> Reasons, Dictionary<string, double> Breakdown, double Multiplier, CircuitStatus Circuit, ModelStats Stats, ModelStats TaskStats,
        double PriorCapability);

    public async ValueTask<RoutePlan> PlanAsync(TaskRequest task, CancellationToken cancellationToken)
    {
        var analysis = analyzer.Analyze(task);
        var requirement = Requirement(analysis.Level, analysis.Context, analysis.Persona);
        var (costWeight, latencyWeight) = Weights(task.Objective);
        var rejected = new List<string>();
        var budgetRejections = 0;

        var models = catalog.Models.Where(m => providers.IsEnabled(m.Provider) && !m.IsDeprecated).ToList();
        if (task.PreferredProviders.Count > 0 && task.ModelPreferences.Count == 0 && providers.IsEnabled(task.PreferredProviders))
        {
            // A preference for an enabled provider narrows the field; others stay out of the plan.
            models = models.Where(m => task.PreferredProviders.Contains(m.Provider, StringComparer.OrdinalIgnoreCase)).ToList();
        }

        if (task.AllowedModels is { Count: > 0 } allowed)
        {
            // A model or provider the caller names must be on the key's list; with auto only listed models compete.
            foreach (var (provider, id) in task.ModelPreferences)
            {
                if (catalog.Find(id, provider) is not { } named || !ModelAllowList.Allows(allowed, named))
                {
                    throw ModelAllowList.Refused(provider + "/" + id, allowed);
                }
            }

            foreach (var provider in task.PreferredProviders.Where(p => !models.Any(m => string.Equals(m.Provider, p, StringComparison.OrdinalIgnoreCase) && ModelAllowList.Allows(allowed, m))))
            {
                throw ModelAllowList.Refused(provider, allowed);
            }

            models = models.Where(m => ModelAllowList.Allows(allowed, m)).ToList();
        }

        var keys = models.Select(m => m.Key).ToList();
        var taskClass = LearningKeys.TaskClass(analysis);
        var learned = await stats.GetAsync([.. keys, .. keys.Select(k => LearningKeys.ForTask(k, taskClass))], cancellationToken);
        var circuits = await breaker.DescribeAsync(keys, cancellationToken);
        var remaining = await budget.RemainingUsdAsync(task, cancellationToken);
        double? maxCost = (task.MaxCostUsd, remaining) switch
        {
            ({ } a, { } b) => Math.Min(a, b),
            ({ } a, null) => a,
            (null, { } b) => b,
            _ => null,
        };

        var drafts = new List<Draft>();
        for (var order = 0; order < models.Count; order++)
        {
            var model = models[order];
            var reasons = new List<string>();
            var breakdown = new Dictionary<string, double>();

            // Context window: input + a minimal answer must fit; max_tokens is clamped to what does.
            var requested = task.MaxTokens;
            var outputCap = model.MaxOutputTokens > 0 ? Math.Min(requested, model.MaxOutputTokens) : requested;
            // Session history is trimmed (oldest turns first) to what this window leaves beside the prompt
            // and the answer (PromptBuilder), so only the part that fits counts against the model.
            var fixedInput = analysis.EstimatedInputTokens - analysis.HistoryTokens;
            var input = fixedInput + Math.Min(analysis.HistoryTokens, Math.Max(0, model.ContextWindow - fixedInput - outputCap));
            var room = model.ContextWindow - input;
            var minimum = Math.Min(_options.MinOutputTokens, requested);
            if (room < minimum)
            {
                rejected.Add(Inv($"{model.Key}: input of {input} tokens leaves {Math.Max(room, 0)} of its {model.ContextWindow}-token window, less than the {minimum} an answer needs"));
                continue;
            }

            if (outputCap < requested)
            {
                reasons.Add(Inv($"max_tokens capped at the model's output limit of {model.MaxOutputTokens}"));
            }

            double window = 1;
            if (room < outputCap)
            {
                window = 0.5 + 0.5 * room / outputCap;
                reasons.Add(Inv($"max_tokens clamped from {outputCap} to {room} to fit its {model.ContextWindow}-token window with {input} input tokens"));
                outputCap = (int)room;
            }
            else
            {
                reasons.Add(Inv($"fits its {model.ContextWindow}-token window ({input + outputCap} needed)"));
            }

            // Budget: the worst case is the whole prompt plus every allowed output token. Ranking compares
            // prices at the unclamped output, so a clamped (cut-short) answer never looks cheaper.
            var cost = (input * model.InputPricePerMillion + outputCap * model.OutputPricePerMillion) / 1_000_000d;
            var unclampedOutput = model.MaxOutputTokens > 0 ? Math.Min(requested, model.MaxOutputTokens) : requested;
            var relativeCost = (input * model.InputPricePerMillion + unclampedOutput * model.OutputPricePerMillion) / 1_000_000d;
            if (maxCost is { } limit && cost > limit)
            {
                rejected.Add(Inv($"{model.Key}: worst-case cost ${cost:0.######} exceeds the budget of ${limit:0.######}"));
                budgetRejections++;
                continue;
            }

            var s = learned.GetValueOrDefault(model.Key) ?? ModelStats.Empty;
            var ts = learned.GetValueOrDefault(LearningKeys.ForTask(model.Key, taskClass)) ?? ModelStats.Empty;
            // Reliability on this task type when it has enough recent attempts, else over every task type.
            var observed = ts.Attempts >= Math.Max(1, _options.MinSamplesForObservedLatency) ? ts : s;
            var scope = ReferenceEquals(observed, ts) ? "on " + taskClass : "over all task types";
            var caps = model.Capabilities;
            var codeGen = Math.Min(caps.CodeGeneration / requirement.CodeGeneration, 1);
            var reasoning = Math.Min(caps.Reasoning / requirement.Reasoning, 1);
            var reliabilityValue = caps.Reliability;
            if (observed.Attempts >= _options.MinSamplesForObservedLatency && observed.Attempts > 0)
            {
                reliabilityValue = 1 - observed.Failures / observed.Attempts;
                reasons.Add(Inv($"observed reliability {reliabilityValue:0.00} over {observed.Attempts:0.#} recent attempts {scope} (catalog {caps.Reliability:0.00}){(observed.LastError.Length > 0 ? "; last error " + observed.LastError : "")}"));
            }

            var reliability = Math.Min(reliabilityValue / requirement.Reliability, 1);
            var capability = 0.3 * codeGen + 0.3 * reasoning + 0.2 * window + 0.2 * reliability;
            // The bandit's prior takes the catalog's reliability: the observed failures are already
            // evidence in its posterior, and a failure ratio of time-decayed counts does not fade
            // while the model goes unused, so counting them in the prior too would keep a recovered
            // model down until exploration alone had diluted the ratio.
            var priorCapability = capability + 0.2 * (Math.Min(caps.Reliability / requirement.Reliability, 1) - reliability);
            reasons.Insert(0, Inv($"capability {capability:0.000}: {caps.CodeGeneration:0.00} code / {caps.Reasoning:0.00} reasoning against the {Lower(analysis.Level)} {Lower(analysis.Context)} requirement {requirement.CodeGeneration:0.00}/{requirement.Reasoning:0.00}"));
            breakdown["capability"] = Round(capability);
            breakdown["code_generation"] = Round(codeGen);
            breakdown["reasoning"] = Round(reasoning);
            breakdown["context_fit"] = Round(window);
            breakdown["reliability"] = Round(reliability);

            // The static score compares catalog latencies only; observed ones are compared with each other in Explore.
            var latency = CatalogLatency(model);

            var multiplier = 1.0;
            if (IsPreferred(task, model))
            {
                multiplier *= 1.2;
                breakdown["preference"] = 1.2;
                reasons.Add("preferred by the caller (×1.2)");
            }

            var blendedPrice = (model.InputPricePerMillion + model.OutputPricePerMillion) / 2;
            if (analysis.Complexity < 0.4 && blendedPrice < CheapPricePerMillion)
            {
                multiplier *= 1.1;
                breakdown["cheap_bonus"] = 1.1;
                reasons.Add("cheap model for a simple task (×1.1)");
            }

            var providerHealth = health.Get(model.Provider);
            if (providerHealth.State != HealthState.Healthy)
            {
                var factor = providerHealth.State == HealthState.Degraded ? 0.85 : 0.5;
                multiplier *= factor;
                breakdown["health"] = factor;
                reasons.Add(Inv($"provider {Lower(providerHealth.State)}: {providerHealth.Detail} (×{factor:0.00})"));
            }

            var circuit = circuits.GetValueOrDefault(model.Key);
            if (circuit.State == CircuitState.Open)
            {
                reasons.Add(Inv($"circuit open for {circuit.RetryAfter.TotalSeconds:0.#} s more after {circuit.ConsecutiveFailures} consecutive failures: tried last"));
            }
            else if (circuit.State == CircuitState.HalfOpen)
            {
                reasons.Add("circuit half-open: the next call probes it");
            }

            drafts.Add(new Draft(model, order, capability, outputCap, cost, relativeCost, latency, reasons, breakdown, multiplier, circuit, s, ts, priorCapability));
            reasons.Add(s.Successes > 0
                ? Inv($"expected latency {latency:0} ms (catalog; observed {s.LatencyMs:0} ms, time to first token {s.TimeToFirstTokenMs:0} ms)")
                : Inv($"expected latency {latency:0} ms (catalog)"));
        }

        if (drafts.Count == 0)
        {
            var message = rejected.Count > 0
                ? "No enabled model can take this task: " + string.Join("; ", rejected)
                : "No enabled provider has a model for this task.";
            throw budgetRejections > 0 && budgetRejections == rejected.Count
                ? RpcErrors.FailedPrecondition("BUDGET_EXCEEDED", message)
                : RpcErrors.FailedPrecondition("NO_MODEL_AVAILABLE", message);
        }

        var cheapest = drafts.Min(d => d.RelativeCostUsd);
        var fastest = drafts.Min(d => d.LatencyMs);
        var candidates = new List<(RouteCandidate Candidate, Draft Draft, double PriorScore)>(drafts.Count);
        foreach (var d in drafts)
        {
            var costScore = d.RelativeCostUsd <= 0 ? 1 : cheapest / d.RelativeCostUsd;
            var latencyScore = d.LatencyMs <= 0 ? 1 : fastest / d.LatencyMs;
            var score = ((1 - costWeight - latencyWeight) * d.Capability + costWeight * costScore + latencyWeight * latencyScore) * d.Multiplier;
            var priorScore = ((1 - costWeight - latencyWeight) * d.PriorCapability + costWeight * costScore + latencyWeight * latencyScore) * d.Multiplier;
            d.Breakdown["cost"] = Round(costScore);
            d.Breakdown["latency"] = Round(latencyScore);
            d.Reasons.Insert(1, Inv($"worst-case cost ${d.CostUsd:0.######} ({costScore:0.00} of the cheapest), latency {latencyScore:0.00} of the fastest; {Lower(task.Objective == RoutingObjective.Unspecified ? RoutingObjective.Balanced : task.Objective)} objective weighs cost {costWeight:0.00}, latency {latencyWeight:0.00}"));
            candidates.Add((new RouteCandidate(d.Model, Math.Round(score, 4), d.Reasons, d.Breakdown, d.MaxTokens), d, priorScore));
        }

        // Closed (or half-open) circuits first; within each group: score, then cheaper, then catalog order.
        var ordered = candidates
            .OrderBy(x => x.Draft.Circuit.State == CircuitState.Open ? 1 : 0)
            .ThenByDescending(x => x.Candidate.Score)
            .ThenBy(x => x.Draft.CostUsd)
            .ThenBy(x => x.Draft.Order)
            .ToList();

        var planReasons = new List<string>
        {
            Inv($"{Lower(analysis.Level)} {Lower(analysis.Context)} task (complexity {analysis.Complexity:0.00}) for a {Lower(analysis.Persona)}, {analysis.EstimatedInputTokens} input tokens"),
        };
        planReasons.AddRange(rejected.Select(r => "left out " + r));

        var chosen = Explore(task, taskClass, ordered, planReasons, out var posteriors);
        if (chosen > 0)
        {
            var pick = ordered[chosen];
            ordered.RemoveAt(chosen);
            ordered.Insert(0, pick);
        }

        var top = ordered[0];
        planReasons.Add(Inv($"{top.Candidate.Model.Key} goes first of {ordered.Count} (score {top.Candidate.Score:0.000})"));
        var contextConfidence = analysis.Context == ContextType.General ? 0.5 : 0.9;
        var confidence = Math.Max(0.1, 0.4 * contextConfidence + 0.6 * Math.Min(top.Draft.Capability, 1) - 0.2 * analysis.Complexity);
        if (top.Draft.TaskStats.Evidence + top.Draft.Stats.Evidence >= 5)
        {
            var (a, b) = posteriors.TryGetValue(top.Candidate.Model.Key, out var posterior)
                ? posterior
                : bandit.Posterior(new BanditArm(top.Candidate.Model.Key, 0.9, top.Draft.TaskStats, top.Draft.Stats));
            confidence = 0.7 * confidence + 0.3 * (a / (a + b));
        }

        if (top.Draft.Multiplier < 1 || top.Draft.Circuit.State != CircuitState.Closed)
        {
            confidence *= 0.9;
        }

        var strategy = task.Strategy == Strategy.Unspecified ? Strategy.Single : task.Strategy;
        var plan = new RoutePlan
        {
            Task = task,
            Analysis = analysis,
            Strategy = strategy,
            Candidates = ordered.Select(x => x.Candidate).ToList(),
            Confidence = Math.Round(Math.Clamp(confidence, 0.1, 1), 3),
            Reasons = planReasons,
            CollapseStrategy = task.CollapseStrategy == CollapseStrategy.Unspecified ? CollapseStrategy.BestScore : task.CollapseStrategy,
            ParallelVariants = task.ParallelVariants > 0 ? task.ParallelVariants : 3,
            PipelinePersonas = task.PipelinePersonas.Count > 0 ? task.PipelinePersonas : [Persona.Architect, Persona.Developer, Persona.Reviewer],
        };
        Log.Planned(logger, top.Candidate.Model.Key, ordered.Count, plan.Confidence);
        return plan;
    }

    /// <summary>
    /// Lets the bandit pick among every eligible candidate (closed or half-open circuits; the hard
    /// constraints already left the rest out): prior from the static score, posterior from what was
    /// learned on this task type backed off to the model's shared statistics, minus penalties for
    /// latency and cost relative to the other candidates, plus the exploration floor. Returns the
    /// index to move first.
    /// </summary>
    private int Explore(TaskRequest task, string taskClass, List<(RouteCandidate Candidate, Draft Draft, double PriorScore)> ordered, List<string> planReasons,
        out Dictionary<string, (double Alpha, double Beta)> posteriors)
    {
        posteriors = [];
        if (_options.BanditCandidates == 1 || task.ModelPreferences.Count > 0)
        {
            return 0;
        }

        var best = ordered[0].Candidate.Score;
        if (best <= 0)
        {
            return 0;
        }

        var eligible = ordered.TakeWhile(x => x.Draft.Circuit.State != CircuitState.Open);
        var leading = (_options.BanditCandidates > 1 ? eligible.Take(_options.BanditCandidates) : eligible).ToList();
        if (leading.Count < 2)
        {
            return 0;
        }

        // Prior means from the static score with the catalog's reliability (see PlanAsync).
        var bestPrior = leading.Max(x => x.PriorScore);
        if (bestPrior <= 0)
        {
            return 0;
        }

        // Latencies compared like with like: observed on this task type when every candidate has
        // enough successes there, else observed over all task types when every one has, else catalog.
        var minimum = Math.Max(1, _options.MinSamplesForObservedLatency);
        var (latencySource, latencies) =
            leading.All(x => x.Draft.TaskStats.Successes >= minimum && x.Draft.TaskStats.LatencyMs > 0) ? ("observed on " + taskClass, leading.Select(x => x.Draft.TaskStats.LatencyMs).ToList())
            : leading.All(x => x.Draft.Stats.Successes >= minimum && x.Draft.Stats.LatencyMs > 0) ? ("observed", leading.Select(x => x.Draft.Stats.LatencyMs).ToList())
            : ("catalog", leading.Select(x => x.Draft.LatencyMs).ToList());
        var fastest = latencies.Min();
        var cheapest = leading.Min(x => x.Draft.RelativeCostUsd);
        // The objective scales the penalties as it scales the static score's weights (balanced = ×1,
        // quality = none, cost = ×5 on cost, latency = ×5 on latency).
        var (objectiveCost, objectiveLatency) = Weights(task.Objective);
        var (balancedCost, balancedLatency) = Weights(RoutingObjective.Balanced);
        var costWeight = Math.Min(1, _options.CostWeight * objectiveCost / balancedCost);
        var latencyWeight = Math.Min(1, _options.LatencyWeight * objectiveLatency / balancedLatency);
        var arms = new List<BanditArm>(leading.Count);
        for (var i = 0; i < leading.Count; i++)
        {
            var d = leading[i].Draft;
            var latencyPenalty = latencyWeight * (latencies[i] <= 0 ? 0 : 1 - fastest / latencies[i]);
            var costPenalty = costWeight * (d.RelativeCostUsd <= 0 ? 0 : 1 - cheapest / d.RelativeCostUsd);
            arms.Add(new BanditArm(d.Model.Key, 0.9 * leading[i].PriorScore / bestPrior, d.TaskStats, d.Stats, latencyPenalty + costPenalty));
        }

        var choice = bandit.Choose(arms);
        for (var i = 0; i < leading.Count; i++)
        {
            var breakdown = (Dictionary<string, double>)leading[i].Candidate.Breakdown;
            var d = leading[i].Draft;
            posteriors[d.Model.Key] = bandit.Posterior(arms[i]);
            breakdown["posterior_mean"] = Round(choice.PosteriorMeans[i]);
            breakdown["learned_penalty"] = Round(arms[i].Penalty);
            breakdown["bandit_draw"] = Round(choice.Draws[i]);
            ((List<string>)leading[i].Candidate.Reasons).Add(Inv(
                $"learned on {taskClass}: posterior mean {choice.PosteriorMeans[i]:0.000} from {d.TaskStats.Evidence:0.#} weighted outcomes here and {d.Stats.Evidence:0.#} over all task types; {d.TaskStats.Attempts:0.#} recent attempts; latency ({latencySource}) {latencies[i]:0} ms; latency and cost take {arms[i].Penalty:0.000} off; draw {choice.Draws[i]:0.000}"));
        }

        var picked = leading[choice.Index].Candidate.Model.Key;
        var field = string.Join(", ", leading.Select((x, i) => Inv($"{x.Candidate.Model.Key} {choice.Draws[i]:0.000}")));
        planReasons.Add(choice.Forced
            ? Inv($"bandit ({ThompsonSamplingBandit.Name} sampling) explored {picked}: below its exploration floor of {_options.ExplorationFloor / leading.Count:0.###} of recent {taskClass} attempts; draws {field}")
            : Inv($"bandit ({ThompsonSamplingBandit.Name} sampling, exploration rate {_options.ExplorationRate:0.00}) {(choice.Index == 0 ? "kept" : "chose")} {picked} among {field}"));
        return choice.Index;
    }

    private static double CatalogLatency(CatalogModel model) => model.TypicalLatencyMs > 0 ? model.TypicalLatencyMs : DefaultLatencyMs;

    private static (double Cost, double Latency) Weights(RoutingObjective objective) => objective switch
    {
        RoutingObjective.Quality => (0, 0),
        RoutingObjective.Cost => (0.5, 0.05),
        RoutingObjective.Latency => (0.05, 0.5),
        _ => (0.1, 0.1),
    };

    private static bool IsPreferred(TaskRequest task, CatalogModel model)
    {
        if (task.ModelPreferences.TryGetValue(model.Provider, out var preferred))
        {
            return string.Equals(preferred, model.Id, StringComparison.OrdinalIgnoreCase)
                || model.Aliases.Contains(preferred, StringComparer.OrdinalIgnoreCase);
        }

        return task.PreferredProviders.Contains(model.Provider, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Capability requirements by complexity level, as the original router scaled them.</summary>
    internal static (double CodeGeneration, double Reasoning, double Reliability) Requirement(ComplexityLevel level) => level switch
    {
        ComplexityLevel.Critical => (0.95, 0.95, 0.95),
        ComplexityLevel.Complex => (0.85, 0.85, 0.9),
        ComplexityLevel.Moderate => (0.7, 0.7, 0.85),
        ComplexityLevel.Simple => (0.55, 0.5, 0.8),
        _ => (0.4, 0.3, 0.75),
    };

    /// <summary>
    /// Requirements by complexity, raised where the context or persona needs one capability more,
    /// as the original router did (code generation → code 0.9, architecture → reasoning 0.95,
    /// security → reliability 0.95; an architect persona → reasoning 0.9). The code and reasoning
    /// floors scale with the original's complexity multiplier (0.6 trivial … 1.0 critical), so a
    /// trivial task still goes to a cheap model; reliability for security work does not scale.
    /// </summary>
    internal static (double CodeGeneration, double Reasoning, double Reliability) Requirement(ComplexityLevel level, ContextType context, Persona persona)
    {
        var (code, reasoning, reliability) = Requirement(level);
        var m = level switch
        {
            ComplexityLevel.Critical => 1.0,
            ComplexityLevel.Complex => 0.9,
            ComplexityLevel.Moderate => 0.8,
            ComplexityLevel.Simple => 0.7,
            _ => 0.6,
        };
        if (context is ContextType.CodeGeneration or ContextType.Debugging)
        {
            code = Math.Max(code, 0.9 * m);
        }

        if (context == ContextType.Architecture)
        {
            reasoning = Math.Max(reasoning, 0.95 * m);
        }
        else if (persona == Persona.Architect || context == ContextType.Performance)
        {
            reasoning = Math.Max(reasoning, 0.9 * m);
        }

        if (context == ContextType.Security || persona == Persona.SecurityAnalyst)
        {
            reliability = Math.Max(reliability, 0.95);
        }

        return (code, reasoning, reliability);
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static double Round(double value) => Math.Round(value, 4);

    private static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.RoutePlanned, Level = LogLevel.Debug,
            Message = "Planned {Model} first of {Candidates} candidates (confidence {Confidence})")]
        public static partial void Planned(ILogger logger, string model, int candidates, double confidence);
    }
}
