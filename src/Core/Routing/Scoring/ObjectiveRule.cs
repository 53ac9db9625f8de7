using MonkeyCoder.V1;
using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Blends capability with relative cost and latency by the task's objective:
/// ((1 − wc − wl)·capability + wc·cost score + wl·latency score)·multiplier, with (wc, wl) from
/// <see cref="RoutingScoringOptions"/> (balanced 0.1/0.1, quality 0/0, cost 0.5/0.05, latency 0.05/0.5).
/// </summary>
internal sealed class ObjectiveRule(RoutingScoringOptions weights)
{
    public (double Cost, double Latency) Weights(RoutingObjective objective)
    {
        var w = weights.For(objective);
        return (w.Cost, w.Latency);
    }

    public double Blend(RoutingObjective objective, double capability, double costScore, double latencyScore, double multiplier)
    {
        var (wc, wl) = Weights(objective);
        return ((1 - wc - wl) * capability + wc * costScore + wl * latencyScore) * multiplier;
    }

    /// <summary>
    /// The learned value's penalty weights, scaled by the objective as the static score's weights
    /// are (relative to balanced: quality ×0, cost ×5 on cost, latency ×5 on latency), at most 1.
    /// </summary>
    public (double Cost, double Latency) PenaltyWeights(RoutingObjective objective, double costWeight, double latencyWeight)
    {
        var (cost, latency) = Weights(objective);
        var (balancedCost, balancedLatency) = Weights(RoutingObjective.Balanced);
        return (Math.Min(1, balancedCost > 0 ? costWeight * cost / balancedCost : costWeight),
                Math.Min(1, balancedLatency > 0 ? latencyWeight * latency / balancedLatency : latencyWeight));
    }

    /// <summary>The candidate's cost and latency reason.</summary>
    public string Reason(RoutingObjective objective, double worstCaseCost, double costScore, double latencyScore)
    {
        var (wc, wl) = Weights(objective);
        return Inv($"worst-case cost ${worstCaseCost:0.######} ({costScore:0.00} of the cheapest), latency {latencyScore:0.00} of the fastest; {Lower(objective == RoutingObjective.Unspecified ? RoutingObjective.Balanced : objective)} objective weighs cost {wc:0.00}, latency {wl:0.00}");
    }
}
