namespace MonkeyCoder.LoadTests.Engine;

/// <summary>A pass/fail rule on one number of a phase; any failed threshold makes the run exit non-zero.</summary>
public sealed record Threshold(string Name, Func<PhaseResult, double?> Read, string Op, double Limit, string Unit)
{
    public static Threshold ErrorRateBelow(double percent) =>
        new($"error rate < {percent}%", r => r.ErrorRatePercent, "<", percent, "%");

    public static Threshold LatencyBelow(string metric, string percentile, double ms) =>
        new($"{metric} {percentile} < {ms} ms", r => r.Percentile(metric, percentile), "<", ms, "ms");

    public static Threshold AtLeast(string name, string value, double limit, string unit = "") =>
        new($"{name} >= {limit}{unit}", r => r.Values.TryGetValue(value, out var v) ? v : null, ">=", limit, unit);

    public static Threshold AtMost(string name, string value, double limit, string unit = "") =>
        new($"{name} <= {limit}{unit}", r => r.Values.TryGetValue(value, out var v) ? v : null, "<=", limit, unit);

    public ThresholdResult Evaluate(PhaseResult result)
    {
        var actual = Read(result);
        var passed = actual is { } a && Op switch
        {
            "<" => a < Limit,
            "<=" => a <= Limit,
            ">" => a > Limit,
            ">=" => a >= Limit,
            _ => false,
        };
        return new ThresholdResult(Name, actual is null ? null : Math.Round(actual.Value, 4), Op, Limit, Unit, passed);
    }
}

/// <summary>Actual is null when the number could not be measured (that fails the threshold).</summary>
public sealed record ThresholdResult(string Name, double? Actual, string Op, double Limit, string Unit, bool Passed);
