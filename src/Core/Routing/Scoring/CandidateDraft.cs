using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing.Learning;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// One model that passed the hard constraints (window, budget), with what the per-model rules
/// found: capability, clamped output, costs, catalog latency, the multipliers of preferences and
/// health, its circuit and learned statistics (over every task type and on this task type).
/// <see cref="PriorCapability"/> is the capability with the catalog's reliability (the bandit's prior).
/// Its latency reason (part 0) is formatted when read.
/// </summary>
internal sealed record CandidateDraft(
    CatalogModel Model,
    int Order,
    double Capability,
    double PriorCapability,
    int MaxTokens,
    double CostUsd,
    double RelativeCostUsd,
    double LatencyMs,
    ReasonList Reasons,
    Dictionary<string, double> Breakdown,
    double Multiplier,
    CircuitStatus Circuit,
    ModelStats Stats,
    ModelStats TaskStats) : IReasonSource
{
    /// <summary>When the router read <see cref="Circuit"/> as closed (breaker clock timestamp); 0 otherwise. See <see cref="RouteCandidate.CircuitClosedAt"/>.</summary>
    public long CircuitClosedAt { get; init; }

    public string Reason(int part) => LatencyRule.Reason(LatencyMs, Stats);
}
