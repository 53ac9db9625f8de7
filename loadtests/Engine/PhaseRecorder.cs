using System.Collections.Concurrent;
using System.Diagnostics;

namespace MonkeyCoder.LoadTests.Engine;

/// <summary>Everything one phase records while it runs; thread-safe.</summary>
public sealed class PhaseRecorder
{
    public const string LatencyMetricName = "latency";

    private readonly ConcurrentDictionary<string, LatencyMetric> _metrics = new();
    private readonly ConcurrentDictionary<string, long> _counters = new();
    private readonly ConcurrentDictionary<string, long> _statuses = new();
    private readonly ConcurrentDictionary<string, string> _errorSamples = new();
    private long _ok;
    private long _failed;
    private long _warmUpCalls;
    private long _warmUpFailed;

    public PhaseRecorder()
    {
        _metrics[LatencyMetricName] = new LatencyMetric(LatencyMetricName);
    }

    public Gauge InFlight { get; } = new();

    /// <summary>Stopwatch ticks when the measured window opened (after warm-up).</summary>
    public long MeasureFrom { get; set; }

    public long LastMeasuredEnd;

    public LatencyMetric Metric(string name) => _metrics.GetOrAdd(name, n => new LatencyMetric(n));

    public void Count(string counter, long by = 1) => _counters.AddOrUpdate(counter, by, (_, v) => v + by);

    public void Complete(CallContext context, CallResult result, TimeSpan latency)
    {
        if (!context.Measured)
        {
            Interlocked.Increment(ref _warmUpCalls);
            if (!result.Ok)
            {
                Interlocked.Increment(ref _warmUpFailed);
                _errorSamples.TryAdd("warm-up " + result.Status, result.Error ?? "");
            }

            return;
        }

        _statuses.AddOrUpdate(result.Status, 1, (_, v) => v + 1);
        if (result.Ok)
        {
            Interlocked.Increment(ref _ok);
            _metrics[LatencyMetricName].Record(latency);
        }
        else
        {
            Interlocked.Increment(ref _failed);
            _errorSamples.TryAdd(result.Status, result.Error ?? "");
        }

        var now = Stopwatch.GetTimestamp();
        long last;
        while (now > (last = Interlocked.Read(ref LastMeasuredEnd)) && Interlocked.CompareExchange(ref LastMeasuredEnd, now, last) != last)
        {
        }
    }

    public void SampleAll(double atSeconds)
    {
        foreach (var metric in _metrics.Values)
        {
            metric.Sample(atSeconds);
        }
    }

    public long Ok => Interlocked.Read(ref _ok);

    public long Failed => Interlocked.Read(ref _failed);

    public long WarmUpCalls => Interlocked.Read(ref _warmUpCalls);

    public long WarmUpFailed => Interlocked.Read(ref _warmUpFailed);

    public IReadOnlyDictionary<string, LatencyMetric> Metrics => _metrics;

    public IReadOnlyDictionary<string, long> Counters => _counters;

    public IReadOnlyDictionary<string, long> Statuses => _statuses;

    public IReadOnlyDictionary<string, string> ErrorSamples => _errorSamples;
}
