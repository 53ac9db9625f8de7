namespace MonkeyCoder.Core.Usage;

/// <summary>A time range and scope for a usage query.</summary>
internal sealed record UsageQuery(DateTimeOffset Start, DateTimeOffset End, bool Hourly, string? PrincipalId);

/// <summary>Aggregates over a set of executions.</summary>
internal sealed record UsageAggregate(
    long Executions,
    long Succeeded,
    long Failed,
    long CacheHits,
    long InputTokens,
    long OutputTokens,
    double CostUsd,
    double LatencyP50Ms,
    double LatencyP95Ms)
{
    public static readonly UsageAggregate Empty = new(0, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>What the providers charged (<see cref="BilledUsage"/>); the token and cost fields above are the answers' usage.</summary>
    public BilledUsage Billed { get; init; }

    public double ErrorRate => Executions == 0 ? 0 : Failed / (double)Executions;
}

internal sealed record UsageReport(
    UsageAggregate Totals,
    IReadOnlyList<(DateTimeOffset Start, UsageAggregate Totals)> Buckets,
    IReadOnlyList<(string Key, UsageAggregate Totals)> ByProvider,
    IReadOnlyList<(string Key, UsageAggregate Totals)> ByModel,
    IReadOnlyList<(int TaskType, UsageAggregate Totals)> ByTaskType);
