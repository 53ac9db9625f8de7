namespace MonkeyCoder.Core.Execution.Resilience;

/// <summary>The answer to "may I call this model now?".</summary>
internal readonly record struct BreakerPermit(bool Allowed, bool IsProbe, TimeSpan RetryAfter)
{
    public static readonly BreakerPermit Closed = new(true, false, TimeSpan.Zero);
}
