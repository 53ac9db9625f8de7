using HdrHistogram;

namespace MonkeyCoder.LoadTests.Engine;

/// <summary>
/// One latency distribution in microseconds (HdrHistogram, 3 significant digits, up to 10 min).
/// Writers record into a <see cref="Recorder"/>; the sampler swaps out one interval histogram a
/// second, which becomes a point of the time series and is added to the total.
/// </summary>
public sealed class LatencyMetric(string name)
{
    private const long Highest = 600_000_000;
    private readonly Recorder _recorder = new(1, Highest, 3, (id, low, high, digits) => new LongConcurrentHistogram(id, low, high, digits));
    private readonly LongHistogram _total = new(1, Highest, 3);
    private readonly List<IntervalPoint> _series = [];
    private readonly Lock _gate = new();

    public string Name { get; } = name;

    public void Record(TimeSpan value) => _recorder.RecordValue(Math.Clamp((long)(value.Ticks / 10.0), 1, Highest));

    /// <summary>Closes the current interval at <paramref name="atSeconds"/> (since the measured window opened).</summary>
    public void Sample(double atSeconds)
    {
        lock (_gate)
        {
            var interval = _recorder.GetIntervalHistogram();
            _total.Add(interval);
            if (interval.TotalCount > 0)
            {
                _series.Add(new IntervalPoint(
                    Math.Round(atSeconds, 2),
                    interval.TotalCount,
                    Ms(interval.GetValueAtPercentile(50)),
                    Ms(interval.GetValueAtPercentile(95)),
                    Ms(interval.GetValueAtPercentile(99)),
                    Ms(interval.GetMaxValue())));
            }
        }
    }

    public LatencySummary Summary()
    {
        lock (_gate)
        {
            var h = _total;
            return h.TotalCount == 0
                ? new LatencySummary(0, 0, 0, 0, 0, 0, 0, 0, 0)
                : new LatencySummary(
                    h.TotalCount,
                    Math.Round(h.GetMean() / 1000.0, 3),
                    Ms(h.GetValueAtPercentile(50)),
                    Ms(h.GetValueAtPercentile(75)),
                    Ms(h.GetValueAtPercentile(90)),
                    Ms(h.GetValueAtPercentile(95)),
                    Ms(h.GetValueAtPercentile(99)),
                    Ms(h.GetValueAtPercentile(99.9)),
                    Ms(h.GetMaxValue()));
        }
    }

    public IReadOnlyList<IntervalPoint> Series()
    {
        lock (_gate)
        {
            return [.. _series];
        }
    }

    private static double Ms(long micros) => Math.Round(micros / 1000.0, 3);
}

/// <summary>Milliseconds, except <see cref="Count"/>.</summary>
public sealed record LatencySummary(long Count, double Mean, double P50, double P75, double P90, double P95, double P99, double P999, double Max);

/// <summary>One second of a run: calls completed in it and their percentiles in ms.</summary>
public sealed record IntervalPoint(double AtSeconds, long Count, double P50, double P95, double P99, double Max);
