using MonkeyCoder.Core.Routing.Learning;
using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// What the bandit saw and drew (<see cref="LearnedRewardRule"/>), formatted when read: part i &lt;
/// the number of arms is arm i's reason, the next part the plan's bandit reason.
/// </summary>
internal sealed class BanditReasons(string taskClass, IReadOnlyList<RankedCandidate> leading, IReadOnlyList<BanditArm> arms, BanditChoice choice,
    string latencySource, IReadOnlyList<double> latencies, RoutingOptions options) : IReasonSource
{
    /// <summary>The part of the plan's bandit reason.</summary>
    public int PlanPart => leading.Count;

    public string Reason(int part)
    {
        if (part < leading.Count)
        {
            var d = leading[part].Draft;
            return Inv(
                $"learned on {taskClass}: posterior mean {choice.PosteriorMeans[part]:0.000} from {d.TaskStats.Evidence:0.#} weighted outcomes here and {d.Stats.Evidence:0.#} over all task types; {d.TaskStats.Attempts:0.#} recent attempts; latency ({latencySource}) {latencies[part]:0} ms; latency and cost take {arms[part].Penalty:0.000} off; draw {choice.Draws[part]:0.000}");
        }

        var picked = leading[choice.Index].Candidate.Model.Key;
        var field = string.Join(", ", leading.Select((x, i) => Inv($"{x.Candidate.Model.Key} {choice.Draws[i]:0.000}")));
        return choice.Forced
            ? Inv($"bandit ({ThompsonSamplingBandit.Name} sampling) explored {picked}: below its exploration floor of {options.ExplorationFloor / leading.Count:0.###} of recent {taskClass} attempts; draws {field}")
            : Inv($"bandit ({ThompsonSamplingBandit.Name} sampling, exploration rate {options.ExplorationRate:0.00}) {(choice.Index == 0 ? "kept" : "chose")} {picked} among {field}");
    }
}
