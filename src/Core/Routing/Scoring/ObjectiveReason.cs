using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>A candidate's cost and latency reason (<see cref="ObjectiveRule.Reason"/>), formatted when read.</summary>
internal sealed record ObjectiveReason(ObjectiveRule Rule, RoutingObjective Objective, double WorstCaseCost, double CostScore, double LatencyScore) : IReasonSource
{
    public string Reason(int part) => Rule.Reason(Objective, WorstCaseCost, CostScore, LatencyScore);
}
