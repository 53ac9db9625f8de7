using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing.Learning;
using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Latency relative to the fastest candidate. The static score compares catalog latencies only
/// (fastest/latency); the learned value loses LatencyWeight·(1 − fastest/latency), comparing like
/// with like: observed on the task type when every candidate has enough successes there, else
/// observed over every task type when every one has, else the catalog's for all.
/// </summary>
internal sealed class LatencyRule(RoutingScoringOptions weights)
{
    /// <summary>The catalog's typical latency, or the default when it gives none, in ms.</summary>
    public double Catalog(CatalogModel model) => model.TypicalLatencyMs > 0 ? model.TypicalLatencyMs : weights.DefaultLatencyMs;

    /// <summary>Static score 0–1: the fastest candidate's latency over this one's.</summary>
    public static double Score(double latencyMs, double fastest) => latencyMs <= 0 ? 1 : fastest / latencyMs;

    /// <summary>What the learned value loses for being slower than the fastest eligible candidate.</summary>
    public static double Penalty(double weight, double latencyMs, double fastest) => weight * (latencyMs <= 0 ? 0 : 1 - fastest / latencyMs);

    /// <summary>The candidate's latency reason.</summary>
    public static string Reason(double latencyMs, ModelStats stats) => stats.Successes > 0
        ? Inv($"expected latency {latencyMs:0} ms (catalog; observed {stats.LatencyMs:0} ms, time to first token {stats.TimeToFirstTokenMs:0} ms)")
        : Inv($"expected latency {latencyMs:0} ms (catalog)");

    /// <summary>The latencies the learned value compares (like with like) and where they come from.</summary>
    public static (string Source, List<double> Latencies) Comparable(IReadOnlyList<CandidateDraft> drafts, int minSamples, string taskClass)
    {
        var minimum = Math.Max(1, minSamples);
        return drafts.All(d => d.TaskStats.Successes >= minimum && d.TaskStats.LatencyMs > 0) ? ("observed on " + taskClass, drafts.Select(d => d.TaskStats.LatencyMs).ToList())
            : drafts.All(d => d.Stats.Successes >= minimum && d.Stats.LatencyMs > 0) ? ("observed", drafts.Select(d => d.Stats.LatencyMs).ToList())
            : ("catalog", drafts.Select(d => d.LatencyMs).ToList());
    }
}
