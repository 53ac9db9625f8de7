namespace MonkeyCoder.Core.Limits;

/// <summary>
/// Request and token rate limits and monthly budgets. <see cref="RedisRateLimiter"/> holds across
/// replicas (one Lua script per decision); <see cref="InMemoryRateLimiter"/> holds for one process.
/// Requests: sliding log over the last 60 s (exact). Tokens: sliding window counter over minute
/// buckets (weighted previous minute), reserved by estimate and corrected with the real count.
/// </summary>
internal interface IRateLimiter
{
    /// <summary>"redis" or "embedded".</summary>
    string Kind { get; }

    Task<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the token estimate with the real count, adds the call's cost to the month's spend and
    /// releases <paramref name="reservation"/> (the reservation is replaced by what usage recorded).
    /// </summary>
    Task<SpendTotals> CompleteAsync(LimitRequest request, LimitDecision decision, long actualTokens, double costUsd, CancellationToken cancellationToken,
        SpendReservation? reservation = null);

    /// <summary>
    /// Reserves <paramref name="micros"/> against the key and user budgets of <paramref name="request"/>:
    /// admitted only when spend + open reservations + the amount stay within each budget, atomically
    /// across replicas. A reservation not settled within <paramref name="ttl"/> (its replica died) lapses.
    /// </summary>
    Task<SpendReservation> ReserveAsync(LimitRequest request, long micros, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>The month's spend and open reservations of the key (when any) and the user.</summary>
    Task<BudgetSnapshot> GetBudgetAsync(LimitRequest request, CancellationToken cancellationToken);
}
