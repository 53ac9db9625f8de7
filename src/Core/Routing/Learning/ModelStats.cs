namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// What the router has learned about one model ("provider/id") from real outcomes, shared across
/// replicas. <see cref="Alpha"/> and <see cref="Beta"/> are the decayed evidence of the Beta
/// posterior on the reward (the prior is added by the bandit, not stored).
/// </summary>
public sealed record ModelStats
{
    public static readonly ModelStats Empty = new();

    /// <summary>Decayed sum of rewards (0–1 each).</summary>
    public double Alpha { get; init; }

    /// <summary>Decayed sum of (1 − reward).</summary>
    public double Beta { get; init; }

    /// <summary>Attempts observed (not decayed).</summary>
    public long Attempts { get; init; }

    /// <summary>Failed attempts observed (not decayed).</summary>
    public long Failures { get; init; }

    /// <summary>Exponentially weighted latency of successful attempts, in ms; 0 before the first.</summary>
    public double LatencyMs { get; init; }

    /// <summary>Exponentially weighted time to first token of successful streams, in ms; 0 before the first.</summary>
    public double TimeToFirstTokenMs { get; init; }

    /// <summary>Exponentially weighted cost of successful attempts, in USD.</summary>
    public double CostUsd { get; init; }

    /// <summary>Error class of the most recent failure, or empty.</summary>
    public string LastError { get; init; } = "";

    /// <summary>Evidence the posterior holds (decayed observations).</summary>
    public double Evidence => Alpha + Beta;

    /// <summary>Smoothing factor of the moving averages: the newest sample weighs 20 %.</summary>
    public const double EwmaWeight = 0.2;

    /// <summary>
    /// Applies one observation. The in-process store calls this; the Redis store runs the same
    /// arithmetic in a Lua script (see <see cref="RedisRouterStatsStore"/>), so both agree.
    /// </summary>
    public ModelStats Apply(StatsUpdate update, double decay)
    {
        var alpha = Alpha;
        var beta = Beta;
        if (update.Weight > 0)
        {
            alpha = alpha * decay + update.Weight * update.Reward;
            beta = beta * decay + update.Weight * (1 - update.Reward);
        }

        var next = this with { Alpha = alpha, Beta = beta };
        if (update.Attempt is { } attempt)
        {
            next = next with
            {
                Attempts = Attempts + 1,
                Failures = Failures + (attempt.Succeeded ? 0 : 1),
                LatencyMs = attempt.Succeeded ? Ewma(LatencyMs, attempt.LatencyMs) : LatencyMs,
                TimeToFirstTokenMs = attempt.Succeeded && attempt.TimeToFirstTokenMs is { } ttft ? Ewma(TimeToFirstTokenMs, ttft) : TimeToFirstTokenMs,
                CostUsd = attempt.Succeeded ? Ewma(CostUsd, attempt.CostUsd) : CostUsd,
                LastError = attempt.Succeeded ? LastError : attempt.ErrorClass,
            };
        }

        return next;
    }

    private static double Ewma(double current, double sample) => current <= 0 ? sample : current + EwmaWeight * (sample - current);
}

/// <summary>One attempt as the learner sees it.</summary>
public sealed record AttemptObservation(bool Succeeded, string ErrorClass, double LatencyMs, double? TimeToFirstTokenMs, double CostUsd);

/// <summary>A change to a model's statistics: an attempt, a rating, or both; Weight 0 leaves the posterior alone.</summary>
public readonly record struct StatsUpdate(double Reward, double Weight, AttemptObservation? Attempt);
