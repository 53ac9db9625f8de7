namespace MonkeyCoder.Core.Execution.Resilience;

internal enum CircuitState
{
    Closed,
    /// <summary>Failing: callers are served by the next candidate until the break ends.</summary>
    Open,
    /// <summary>The break is over: one probe may go; its result closes or reopens the circuit.</summary>
    HalfOpen,
}

/// <summary>A circuit's state as routing reports it.</summary>
internal readonly record struct CircuitStatus(CircuitState State, int ConsecutiveFailures, TimeSpan RetryAfter);
