using System.Text.Json.Serialization;

namespace MonkeyCoder.LoadTests.Engine;

/// <summary>The measured outcome of one phase (a named load run inside a scenario).</summary>
public sealed class PhaseResult
{
    public required string Scenario { get; init; }

    public required string Phase { get; init; }

    public required string Description { get; init; }

    public required string Load { get; init; }

    /// <summary>Set when the phase could not run against its target, e.g. "endpoint not available (404)".</summary>
    public string? Unavailable { get; set; }

    public long Ok { get; set; }

    public long Failed { get; set; }

    public long Total => Ok + Failed;

    public double ErrorRatePercent => Total == 0 ? 100 : Math.Round(100.0 * Failed / Total, 4);

    public long WarmUpCalls { get; set; }

    public long WarmUpFailed { get; set; }

    public double DurationSeconds { get; set; }

    /// <summary>Successful calls per second over the measured window.</summary>
    public double Throughput { get; set; }

    public long PeakInFlight { get; set; }

    public Dictionary<string, LatencySummary> Metrics { get; set; } = [];

    public Dictionary<string, long> Statuses { get; set; } = [];

    public Dictionary<string, long> Counters { get; set; } = [];

    public Dictionary<string, string> ErrorSamples { get; set; } = [];

    /// <summary>Other numbers of the phase (RSS, ratios, peak open streams).</summary>
    public Dictionary<string, double> Values { get; set; } = [];

    public List<string> Notes { get; set; } = [];

    public List<ThresholdResult> Thresholds { get; set; } = [];

    [JsonIgnore]
    public Dictionary<string, IReadOnlyList<IntervalPoint>> Series { get; set; } = [];

    public bool Passed => Thresholds.All(t => t.Passed);

    public double? Percentile(string metric, string percentile)
    {
        if (!Metrics.TryGetValue(metric, out var m) || m.Count == 0)
        {
            return null;
        }

        return percentile switch
        {
            "p50" => m.P50,
            "p75" => m.P75,
            "p90" => m.P90,
            "p95" => m.P95,
            "p99" => m.P99,
            "p99.9" => m.P999,
            "max" => m.Max,
            "mean" => m.Mean,
            _ => throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "unknown percentile"),
        };
    }

    public void Check(IEnumerable<Threshold> thresholds)
    {
        foreach (var threshold in thresholds)
        {
            Thresholds.Add(threshold.Evaluate(this));
        }
    }
}
