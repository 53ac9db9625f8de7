using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Routing;

/// <summary>
/// One model the plan may use, with its score and the reasons for it. <paramref name="MaxTokens"/>
/// is the output limit for this model after clamping to its window and output limit (0 = the
/// task's max_tokens).
/// </summary>
internal sealed record RouteCandidate(
    CatalogModel Model,
    double Score,
    IReadOnlyList<string> Reasons,
    IReadOnlyDictionary<string, double> Breakdown,
    int MaxTokens = 0)
{
    /// <summary>
    /// When the router read this model's circuit and found it closed (a timestamp of the breaker's
    /// clock, <see cref="Execution.Resilience.CircuitBreaker.Timestamp"/>); 0 when it did not (open,
    /// half-open, or a candidate it never read). The candidate's first attempt trusts a fresh reading
    /// instead of reading the shared store again.
    /// </summary>
    public long CircuitClosedAt { get; init; }
}

/// <summary>What the router decided. Immutable; the executor runs it and never changes it.</summary>
internal sealed record RoutePlan
{
    public required TaskRequest Task { get; init; }

    public required TaskProfile Analysis { get; init; }

    public required Strategy Strategy { get; init; }

    /// <summary>Ordered best first. Never empty: the router throws when nothing fits.</summary>
    public required IReadOnlyList<RouteCandidate> Candidates { get; init; }

    /// <summary>0.1–1.</summary>
    public double Confidence { get; init; }

    public IReadOnlyList<string> Reasons { get; init; } = [];

    public CollapseStrategy CollapseStrategy { get; init; } = CollapseStrategy.BestScore;

    public int ParallelVariants { get; init; } = 1;

    public IReadOnlyList<Persona> PipelinePersonas { get; init; } = [];
}
