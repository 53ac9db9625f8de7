namespace MonkeyCoder.Core.Limits;

internal enum LimitVerdict
{
    Admitted,
    RequestsExceeded,
    TokensExceeded,
    BudgetExceeded,
}

/// <summary>The decision for one call, and what to correct afterwards.</summary>
internal sealed record LimitDecision(
    LimitVerdict Verdict,
    int Limit,
    int Remaining,
    TimeSpan RetryAfter,
    TimeSpan ResetAfter,
    long TokenWindow,
    string? BudgetScope = null)
{
    public bool Admitted => Verdict == LimitVerdict.Admitted;

    /// <summary>Decided by this replica's in-process limiter while the shared one (Redis) was unreachable; settled there too.</summary>
    public bool Fallback { get; init; }
}
