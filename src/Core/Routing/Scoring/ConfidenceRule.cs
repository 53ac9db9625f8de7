using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// The plan's confidence: max(0.1, 0.4·context + 0.6·capability − 0.2·complexity) (context 0.9, or
/// 0.5 for general), blended 70/30 with the leader's learned posterior mean once it has ≥ 5
/// weighted outcomes, ×0.9 when the leader is penalised or its circuit is not closed; clamped to
/// 0.1–1. Weights from <see cref="RoutingScoringOptions"/>.
/// </summary>
internal sealed class ConfidenceRule(ThompsonSamplingBandit bandit, RoutingScoringOptions weights)
{
    public double Compute(TaskProfile analysis, RankedCandidate top, IReadOnlyDictionary<string, (double Alpha, double Beta)> posteriors)
    {
        var context = analysis.Context == ContextType.General ? weights.GeneralContextConfidence : weights.SpecificContextConfidence;
        var confidence = Math.Max(0.1, weights.ConfidenceContextWeight * context + weights.ConfidenceCapabilityWeight * Math.Min(top.Draft.Capability, 1) - weights.ConfidenceComplexityWeight * analysis.Complexity);
        if (top.Draft.TaskStats.Evidence + top.Draft.Stats.Evidence >= weights.ConfidenceMinEvidence)
        {
            var (a, b) = posteriors.TryGetValue(top.Candidate.Model.Key, out var posterior)
                ? posterior
                : bandit.Posterior(new BanditArm(top.Candidate.Model.Key, RewardModel.SuccessReward, top.Draft.TaskStats, top.Draft.Stats));
            confidence = weights.ConfidenceStaticShare * confidence + weights.ConfidenceLearnedShare * (a / (a + b));
        }

        if (top.Draft.Multiplier < 1 || top.Draft.Circuit.State != CircuitState.Closed)
        {
            confidence *= weights.ConfidencePenalty;
        }

        return Math.Round(Math.Clamp(confidence, 0.1, 1), 3);
    }
}
