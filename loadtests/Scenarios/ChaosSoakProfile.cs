namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>Sizes of the chaos soak: base rate, how long each fault lasts, how long each recovery window is.</summary>
public sealed record ChaosSoakProfile
{
    /// <summary>Calls started per second (open model), mixed Execute, StreamExecute, chat, chat SSE and GetUsage.</summary>
    public double Rate { get; init; }

    /// <summary>Load before the measured window (JIT warm-up of the REST host), not counted.</summary>
    public TimeSpan WarmUp { get; init; }

    public TimeSpan Baseline { get; init; }

    /// <summary>Plain load after each fault before the next one.</summary>
    public TimeSpan Recovery { get; init; }

    public TimeSpan PostgresDown { get; init; }

    public TimeSpan RedisDown { get; init; }

    /// <summary>The primary provider answers 5xx for the first half of this and times out for the second.</summary>
    public TimeSpan ProviderFault { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>PostgreSQL down while the spill folder's disk is full.</summary>
    public TimeSpan SpillOutage { get; init; }

    public TimeSpan Burst { get; init; } = TimeSpan.FromSeconds(20);

    public double BurstFactor { get; init; } = 3;

    /// <summary>Small, so each database outage overflows memory and uses the spill.</summary>
    public int QueueCapacity { get; init; } = 100;

    /// <summary>The limited key's requests per minute (limit overshoot is measured against it, offered at twice the limit).</summary>
    public int LimitedKeyRequestsPerMinute { get; init; } = 120;

    public static ChaosSoakProfile Smoke { get; } = new()
    {
        Rate = 50,
        WarmUp = TimeSpan.FromSeconds(10),
        Baseline = TimeSpan.FromSeconds(10),
        Recovery = TimeSpan.FromSeconds(10),
        PostgresDown = TimeSpan.FromSeconds(5),
        RedisDown = TimeSpan.FromSeconds(5),
        SpillOutage = TimeSpan.FromSeconds(10),
    };

    public static ChaosSoakProfile Full { get; } = new()
    {
        Rate = 100,
        WarmUp = TimeSpan.FromSeconds(20),
        Baseline = TimeSpan.FromSeconds(60),
        Recovery = TimeSpan.FromSeconds(90),
        PostgresDown = TimeSpan.FromSeconds(20),
        RedisDown = TimeSpan.FromSeconds(20),
        SpillOutage = TimeSpan.FromSeconds(30),
        QueueCapacity = 200,
    };
}
