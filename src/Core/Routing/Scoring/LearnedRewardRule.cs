using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Routing.Learning;
using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Learned reward: a Thompson-sampling bandit picks which eligible candidate (closed or half-open
/// circuit; the hard constraints already left the rest out) goes first. Each arm's prior is
/// <see cref="RewardModel.SuccessReward"/>·prior score/best prior score, its posterior what was
/// learned on this task type backed off to the model's shared statistics, minus penalties for
/// latency and cost relative to the other candidates (<see cref="LatencyRule"/>,
/// <see cref="CostRule"/>), with the exploration floor. Skipped when learning is off
/// (BanditCandidates 1) or the caller named a model.
/// </summary>
internal sealed class LearnedRewardRule(ThompsonSamplingBandit bandit, RoutingOptions options, ObjectiveRule objective)
{
    /// <summary>
    /// The index (in <paramref name="ordered"/>) to move first; adds each arm's reasons and breakdown
    /// and the plan's bandit reason. <paramref name="posteriors"/> holds every arm's Beta posterior.
    /// </summary>
    public int Choose(TaskRequest task, string taskClass, IReadOnlyList<RankedCandidate> ordered, List<string> planReasons,
        out Dictionary<string, (double Alpha, double Beta)> posteriors)
    {
        var reasons = new ReasonList();
        var index = ChooseFirst(task, taskClass, ordered, reasons, out posteriors);
        planReasons.AddRange(reasons);
        return index;
    }

    /// <summary>As <see cref="Choose"/>, with the reasons formatted only when read.</summary>
    public int ChooseFirst(TaskRequest task, string taskClass, IReadOnlyList<RankedCandidate> ordered, ReasonList planReasons,
        out Dictionary<string, (double Alpha, double Beta)> posteriors)
    {
        posteriors = [];
        if (options.BanditCandidates == 1 || task.ModelPreferences.Count > 0)
        {
            return 0;
        }

        var best = ordered[0].Candidate.Score;
        if (best <= 0)
        {
            return 0;
        }

        // The leading eligible candidates: closed or half-open circuits (open ones are ordered last),
        // at most BanditCandidates of them (0 = all).
        var limit = options.BanditCandidates > 1 ? options.BanditCandidates : int.MaxValue;
        var leading = new List<RankedCandidate>(Math.Min(ordered.Count, limit));
        for (var i = 0; i < ordered.Count && leading.Count < limit && ordered[i].Draft.Circuit.State != CircuitState.Open; i++)
        {
            leading.Add(ordered[i]);
        }

        if (leading.Count < 2)
        {
            return 0;
        }

        // Prior means from the static score with the catalog's reliability (see CapabilityRule).
        var bestPrior = leading[0].PriorScore;
        var cheapest = leading[0].Draft.RelativeCostUsd;
        var drafts = new List<CandidateDraft>(leading.Count);
        foreach (var x in leading)
        {
            bestPrior = Extremes.Max(bestPrior, x.PriorScore);
            cheapest = Extremes.Min(cheapest, x.Draft.RelativeCostUsd);
            drafts.Add(x.Draft);
        }

        if (bestPrior <= 0)
        {
            return 0;
        }

        var (latencySource, latencies) = LatencyRule.Comparable(drafts, options.MinSamplesForObservedLatency, taskClass);
        var fastest = latencies[0];
        foreach (var latency in latencies)
        {
            fastest = Extremes.Min(fastest, latency);
        }

        // The objective scales the penalties as it scales the static score's weights.
        var (costWeight, latencyWeight) = objective.PenaltyWeights(task.Objective, options.CostWeight, options.LatencyWeight);
        var arms = new List<BanditArm>(leading.Count);
        for (var i = 0; i < leading.Count; i++)
        {
            var d = leading[i].Draft;
            var penalty = LatencyRule.Penalty(latencyWeight, latencies[i], fastest) + CostRule.Penalty(costWeight, d.RelativeCostUsd, cheapest);
            arms.Add(new BanditArm(d.Model.Key, RewardModel.SuccessReward * leading[i].PriorScore / bestPrior, d.TaskStats, d.Stats, penalty));
        }

        var choice = bandit.Choose(arms);
        var reasons = new BanditReasons(taskClass, leading, arms, choice, latencySource, latencies, options);
        for (var i = 0; i < leading.Count; i++)
        {
            var d = leading[i].Draft;
            posteriors[d.Model.Key] = bandit.Posterior(arms[i]);
            leading[i].Breakdown["posterior_mean"] = Round(choice.PosteriorMeans[i]);
            leading[i].Breakdown["learned_penalty"] = Round(arms[i].Penalty);
            leading[i].Breakdown["bandit_draw"] = Round(choice.Draws[i]);
            leading[i].Reasons.Add(reasons, i);
        }

        planReasons.Add(reasons, reasons.PlanPart);
        return choice.Index;
    }
}
