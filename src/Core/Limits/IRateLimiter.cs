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
public sealed record LimitRequest(
    string Subject,
    string Method,
    string UserId,
    string? KeyId,
    int RequestsPerMinute,
    int TokensPerMinute,
    long EstimatedTokens,
    long? KeyBudgetMicros,
    long? UserBudgetMicros);

public enum LimitVerdict
{
    Admitted,
    RequestsExceeded,
    TokensExceeded,
    BudgetExceeded,
}

/// <summary>The decision for one call, and what to correct afterwards.</summary>
public sealed record LimitDecision(
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
public interface IRateLimiter
{
    /// <summary>"redis" or "embedded".</summary>
    string Kind { get; }

    Task<LimitDecision> AcquireAsync(LimitRequest request, CancellationToken cancellationToken);

    /// <summary>Replaces the token estimate with the real count and adds the call's cost to the month's spend.</summary>
    Task CompleteAsync(LimitRequest request, LimitDecision decision, long actualTokens, double costUsd, CancellationToken cancellationToken);
}

internal static class LimitMath
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

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
