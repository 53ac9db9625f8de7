namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// What the router has learned about one model ("provider/id") or one model on one task type
/// ("provider/id|context", see <see cref="LearningKeys"/>) from real outcomes, shared across
/// replicas. <see cref="Alpha"/> and <see cref="Beta"/> are the decayed evidence of the Beta
/// posterior on the reward (the prior is added by the bandit, not stored). Every number fades
/// with time (half-life <see cref="RoutingOptions.DecayHalfLifeSeconds"/>), so a model that stopped
/// being used drifts back towards its prior and is tried again, and one that recovered is noticed.
/// </summary>
internal sealed record ModelStats
{
    public static readonly ModelStats Empty = new();

    /// <summary>Decayed sum of rewards (0–1 each).</summary>
    public double Alpha { get; init; }

    /// <summary>Decayed sum of (1 − reward).</summary>
    public double Beta { get; init; }

    /// <summary>Attempts observed, decayed with time.</summary>
    public double Attempts { get; init; }

    /// <summary>Failed attempts observed, decayed with time.</summary>
    public double Failures { get; init; }

    /// <summary>Moving average latency of successful attempts, in ms; 0 before the first.</summary>
    public double LatencyMs { get; init; }

    /// <summary>Moving average time to first token of successful streams, in ms; 0 before the first.</summary>
    public double TimeToFirstTokenMs { get; init; }

    /// <summary>Moving average cost of successful attempts, in USD.</summary>
    public double CostUsd { get; init; }

    /// <summary>Error class of the most recent failure, or empty.</summary>
    public string LastError { get; init; } = "";

    /// <summary>Unix time of the last update (or of the decay last applied), in ms; 0 = never observed.</summary>
    public long UpdatedAtMs { get; init; }

    /// <summary>Evidence the posterior holds (decayed observations).</summary>
    public double Evidence => Alpha + Beta;

    /// <summary>Successful attempts, decayed with time.</summary>
    public double Successes => Math.Max(0, Attempts - Failures);

    /// <summary>
    /// Smallest weight of the newest sample in the moving averages (20 %). While few recent successes
    /// back an average (a new model, or one idle long enough for its count to decay) a sample weighs
    /// 1/(successes + 1) instead, so the average restarts from what the model does now.
    /// </summary>
    public const double EwmaWeight = 0.2;

    /// <summary>
    /// Every count and the evidence scaled by 0.5^(elapsed / half-life). The in-process store and the
    /// Redis script apply the same factor; readers see statistics decayed to the time they read them.
    /// </summary>
    public ModelStats DecayedTo(long nowMs, double halfLifeSeconds)
    {
        if (UpdatedAtMs <= 0 || nowMs <= UpdatedAtMs || halfLifeSeconds <= 0)
        {
            return this;
        }

        var f = Factor(nowMs - UpdatedAtMs, halfLifeSeconds);
        return this with { Alpha = Alpha * f, Beta = Beta * f, Attempts = Attempts * f, Failures = Failures * f, UpdatedAtMs = nowMs };
    }

    /// <summary>0.5^(elapsed / half-life).</summary>
    public static double Factor(long elapsedMs, double halfLifeSeconds) =>
        halfLifeSeconds <= 0 || elapsedMs <= 0 ? 1 : Math.Pow(0.5, elapsedMs / 1000.0 / halfLifeSeconds);

    /// <summary>
    /// Applies one observation at <paramref name="nowMs"/>: time decay first, then the per-observation
    /// <paramref name="decay"/> of the evidence. The in-process store calls this; the Redis store runs
    /// the same arithmetic in a Lua script (see <see cref="RedisRouterStatsStore"/>), so both agree.
    /// </summary>
    public ModelStats Apply(StatsUpdate update, double decay, long nowMs, double halfLifeSeconds)
    {
        var current = DecayedTo(nowMs, halfLifeSeconds);
        var alpha = current.Alpha;
        var beta = current.Beta;
        if (update.Weight > 0)
        {
            alpha = alpha * decay + update.Weight * update.Reward;
            beta = beta * decay + update.Weight * (1 - update.Reward);
        }

        var next = current with { Alpha = alpha, Beta = beta, UpdatedAtMs = Math.Max(nowMs, current.UpdatedAtMs) };
        if (update.Attempt is { } attempt)
        {
            var weight = Math.Max(EwmaWeight, 1 / (current.Successes + 1));
            next = next with
            {
                Attempts = current.Attempts + 1,
                Failures = current.Failures + (attempt.Succeeded ? 0 : 1),
                LatencyMs = attempt.Succeeded ? Average(current.LatencyMs, attempt.LatencyMs, weight) : current.LatencyMs,
                TimeToFirstTokenMs = attempt.Succeeded && attempt.TimeToFirstTokenMs is { } ttft ? Average(current.TimeToFirstTokenMs, ttft, weight) : current.TimeToFirstTokenMs,
                CostUsd = attempt.Succeeded ? Average(current.CostUsd, attempt.CostUsd, weight) : current.CostUsd,
                LastError = attempt.Succeeded ? current.LastError : attempt.ErrorClass,
            };
        }

        return next;
    }

    private static double Average(double current, double sample, double weight) => current <= 0 ? sample : current + weight * (sample - current);
}

/// <summary>One attempt as the learner sees it.</summary>
internal sealed record AttemptObservation(bool Succeeded, string ErrorClass, double LatencyMs, double? TimeToFirstTokenMs, double CostUsd);

/// <summary>A change to a model's statistics: an attempt, a rating, or both; Weight 0 leaves the posterior alone.</summary>
internal readonly record struct StatsUpdate(double Reward, double Weight, AttemptObservation? Attempt);
