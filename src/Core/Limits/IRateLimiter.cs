namespace MonkeyCoder.Core.Limits;

/// <summary>What one call asks of the limiter.</summary>
/// <param name="Subject">Credential identity (e.g. <c>key:key_…</c>); requests are counted per subject and RPC.</param>
/// <param name="Method">Full gRPC method name.</param>
/// <param name="UserId">The owning user, for the per-user budget.</param>
/// <param name="KeyId">The API key, when the caller used one.</param>
/// <param name="RequestsPerMinute">Request limit for this subject and RPC.</param>
/// <param name="TokensPerMinute">Token limit for this subject.</param>
/// <param name="EstimatedTokens">Tokens reserved before the call; 0 when the RPC uses no model.</param>
/// <param name="KeyBudgetMicros">Monthly cap of the key in micro-dollars; null = none.</param>
/// <param name="UserBudgetMicros">Monthly cap of the user in micro-dollars; null = none.</param>
internal sealed record LimitRequest(
    string Subject,
    string Method,
    string UserId,
    string? KeyId,
    int RequestsPerMinute,
    int TokensPerMinute,
    long EstimatedTokens,
    long? KeyBudgetMicros,
    long? UserBudgetMicros);

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

/// <summary>
/// A hold on budget for one execution. <see cref="Admitted"/> false: <see cref="Scope"/> ("key" or
/// "user") has only <see cref="RemainingMicros"/> left. When admitted, <see cref="RemainingMicros"/> is
/// what the tighter budget had left before this hold (-1 = no budget), for the outage share.
/// </summary>
internal sealed record SpendReservation(string Id, long Micros, bool Admitted, string? Scope, long RemainingMicros)
{
    /// <summary>Held by this replica's outage share while the shared limiter was unreachable.</summary>
    public bool Fallback { get; init; }

    /// <summary>The remaining key and user budgets before this hold (-1 = no budget), as the shared limiter saw them.</summary>
    public long KeyRemainingMicros { get; init; } = -1;

    public long UserRemainingMicros { get; init; } = -1;

    /// <summary>The first refusal of this budget this month, across replicas (the 100 % alert goes out once).</summary>
    public bool FirstRefusal { get; init; }

    /// <summary>The member stored in the reservation sets: id and amount, so the set alone sums the holds.</summary>
    public string Member => Id + ":" + Micros.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The month's spend after a settlement, in micro-USD (key -1 when the call used no key), for the threshold alerts.</summary>
internal readonly record struct SpendTotals(long KeySpentMicros, long UserSpentMicros)
{
    public static readonly SpendTotals Unknown = new(-1, -1);
}

/// <summary>One budget this month, in micro-USD: its cap (null = none), what was spent and what open reservations hold.</summary>
internal sealed record BudgetUse(long? LimitMicros, long SpentMicros, long ReservedMicros, int OpenReservations)
{
    /// <summary>Cap minus spend minus holds, never below 0; null without a cap.</summary>
    public long? RemainingMicros => LimitMicros is { } limit ? Math.Max(0, limit - SpentMicros - ReservedMicros) : null;
}

internal sealed record BudgetSnapshot(BudgetUse? Key, BudgetUse User);

internal static class LimitMath
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>The smaller of two remaining amounts where -1 means "no budget".</summary>
    public static long Tighter(long a, long b) => a < 0 ? b : b < 0 ? a : Math.Min(a, b);

    public static long ToMicros(double usd) => (long)Math.Round(usd * 1_000_000, MidpointRounding.AwayFromZero);

    /// <summary>Month bucket "yyyyMM" in UTC.</summary>
    public static string Month(DateTimeOffset now) => now.UtcDateTime.ToString("yyyyMM", System.Globalization.CultureInfo.InvariantCulture);

    public static TimeSpan UntilNextMonth(DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        var next = new DateTime(utc.Year, utc.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);
        return next - utc;
    }
}
