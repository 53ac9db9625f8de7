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

        var eligible = ordered.TakeWhile(x => x.Draft.Circuit.State != CircuitState.Open);
        var leading = (options.BanditCandidates > 1 ? eligible.Take(options.BanditCandidates) : eligible).ToList();
        if (leading.Count < 2)
        {
            return 0;
        }

        // Prior means from the static score with the catalog's reliability (see CapabilityRule).
        var bestPrior = leading.Max(x => x.PriorScore);
        if (bestPrior <= 0)
        {
            return 0;
        }

        var (latencySource, latencies) = LatencyRule.Comparable([.. leading.Select(x => x.Draft)], options.MinSamplesForObservedLatency, taskClass);
        var fastest = latencies.Min();
        var cheapest = leading.Min(x => x.Draft.RelativeCostUsd);
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
        for (var i = 0; i < leading.Count; i++)
        {
            var d = leading[i].Draft;
            posteriors[d.Model.Key] = bandit.Posterior(arms[i]);
            leading[i].Breakdown["posterior_mean"] = Round(choice.PosteriorMeans[i]);
            leading[i].Breakdown["learned_penalty"] = Round(arms[i].Penalty);
            leading[i].Breakdown["bandit_draw"] = Round(choice.Draws[i]);
            leading[i].Reasons.Add(Inv(
                $"learned on {taskClass}: posterior mean {choice.PosteriorMeans[i]:0.000} from {d.TaskStats.Evidence:0.#} weighted outcomes here and {d.Stats.Evidence:0.#} over all task types; {d.TaskStats.Attempts:0.#} recent attempts; latency ({latencySource}) {latencies[i]:0} ms; latency and cost take {arms[i].Penalty:0.000} off; draw {choice.Draws[i]:0.000}"));
        }

        var picked = leading[choice.Index].Candidate.Model.Key;
        var field = string.Join(", ", leading.Select((x, i) => Inv($"{x.Candidate.Model.Key} {choice.Draws[i]:0.000}")));
        planReasons.Add(choice.Forced
            ? Inv($"bandit ({ThompsonSamplingBandit.Name} sampling) explored {picked}: below its exploration floor of {options.ExplorationFloor / leading.Count:0.###} of recent {taskClass} attempts; draws {field}")
            : Inv($"bandit ({ThompsonSamplingBandit.Name} sampling, exploration rate {options.ExplorationRate:0.00}) {(choice.Index == 0 ? "kept" : "chose")} {picked} among {field}"));
        return choice.Index;
    }
}
