namespace MonkeyCoder.Core.Usage;

/// <summary>
/// What the providers charged for one execution: tokens and cost summed over every attempt that
/// consumed provider tokens — the answer's, failed attempts before a fail-over, streams cut or
/// cancelled mid-answer, quantum variants that lost the collapse. Zero for a cache hit or a caller
/// that joined another's flight (the leader's execution carries it). Limits and budgets settle
/// with this; <c>usage</c> stays the answer's own tokens.
/// </summary>
internal readonly record struct BilledUsage(long InputTokens, long OutputTokens, double CostUsd)
{
    public long TotalTokens => InputTokens + OutputTokens;

    public static BilledUsage operator +(BilledUsage a, BilledUsage b) =>
        new(a.InputTokens + b.InputTokens, a.OutputTokens + b.OutputTokens, a.CostUsd + b.CostUsd);
}
