namespace MonkeyCoder.LoadTests.Engine;

/// <summary>
/// What one call ended with. <see cref="Status"/> is "OK" or the reason it counts as an error: a
/// gRPC status code name (a non-OK grpc-status on HTTP 200 included), HTTP_nnn, or a completeness
/// failure such as NO_FINAL or EMPTY_CONTENT.
/// </summary>
public readonly record struct CallResult(bool Ok, string Status, string? Error)
{
    public static CallResult Success { get; } = new(true, "OK", null);

    public static CallResult Fail(string status, string? error = null) => new(false, status, error);
}

/// <summary>Handed to each call: extra metrics and counters, kept only when the call is measured.</summary>
public sealed class CallContext(PhaseRecorder recorder, bool measured, long scheduledTimestamp)
{
    /// <summary>True when the call started after warm-up: what it records reaches the results.</summary>
    public bool Measured { get; } = measured;

    /// <summary>When the call should have started (open model) or started (closed model); Stopwatch ticks.</summary>
    public long ScheduledTimestamp { get; } = scheduledTimestamp;

    public void Record(string metric, TimeSpan value)
    {
        if (Measured)
        {
            recorder.Metric(metric).Record(value);
        }
    }

    public void Count(string counter, long by = 1)
    {
        if (Measured)
        {
            recorder.Count(counter, by);
        }
    }
}

public delegate Task<CallResult> LoadCall(CallContext context, CancellationToken cancellationToken);
