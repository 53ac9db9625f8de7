using MonkeyCoder.LoadTests.Scenarios;

namespace MonkeyCoder.LoadTests;

/// <summary>
/// Sizes of every scenario. <see cref="Smoke"/> runs in the test command (all scenarios in about
/// three minutes on 2 cores, routing-regret ~50 s of it, with thresholds); <see cref="Full"/> proves the launch criteria.
/// </summary>
public sealed record Profile
{
    public required string Name { get; init; }

    // execute-unary: simulated provider at UnaryProviderDelayMs; closed model at UnaryConcurrency, then open model at UnaryRate.
    public int UnaryProviderDelayMs { get; init; } = 500;
    public int UnaryConcurrency { get; init; }
    public TimeSpan UnaryWarmUp { get; init; }
    public TimeSpan UnaryDuration { get; init; }
    public double UnaryRate { get; init; }
    public TimeSpan UnaryOpenDuration { get; init; }

    // stream-concurrency: each count in StreamCounts in turn, on one host.
    public IReadOnlyList<int> StreamCounts { get; init; } = [];
    public TimeSpan StreamRampUp { get; init; }
    public int StreamTokensPerSecond { get; init; }
    public int StreamMaxTokens { get; init; }

    // overhead: zero-latency provider; 1 connection, then saturation at OverheadConcurrency.
    public TimeSpan OverheadWarmUp { get; init; }
    public TimeSpan OverheadDuration { get; init; }
    public int OverheadConcurrency { get; init; }

    // rest-openai: closed model over HTTP/1.1.
    public int RestConcurrency { get; init; }
    public TimeSpan RestWarmUp { get; init; }
    public TimeSpan RestDuration { get; init; }

    // cache-hit: identical requests, open model.
    public double CacheRate { get; init; }
    public TimeSpan CacheWarmUp { get; init; }
    public TimeSpan CacheDuration { get; init; }

    // usage-outage: closed model on real PostgreSQL, which is down for OutageDown from a quarter in.
    public int OutageConcurrency { get; init; }
    public TimeSpan OutageDuration { get; init; }
    public TimeSpan OutageDown { get; init; }
    public int OutageQueueCapacity { get; init; } = 100;

    // chaos-soak: open model at ChaosRate over two replicas + the REST host; faults on a fixed timeline.
    public ChaosSoakProfile Chaos { get; init; } = ChaosSoakProfile.Smoke;
    // routing-regret: calls per stage (healthy, degraded, recovered) at RegretRate/s, RegretConcurrency in flight.
    public int RegretHealthyCalls { get; init; }
    public int RegretDegradedCalls { get; init; }
    public int RegretRecoveredCalls { get; init; }
    public double RegretRate { get; init; } = 40;
    public int RegretConcurrency { get; init; } = 4;
    public double RegretHalfLifeSeconds { get; init; } = 5;

    /// <summary>The whole run stops (hosts too) after this; a bound, not a target.</summary>
    public TimeSpan MaxRunTime { get; init; }

    public static Profile Smoke { get; } = new()
    {
        Name = "smoke",
        UnaryConcurrency = 200,
        UnaryWarmUp = TimeSpan.FromSeconds(3),
        UnaryDuration = TimeSpan.FromSeconds(8),
        UnaryRate = 200,
        UnaryOpenDuration = TimeSpan.FromSeconds(6),
        StreamCounts = [1_000],
        StreamRampUp = TimeSpan.FromSeconds(3),
        StreamTokensPerSecond = 10,
        StreamMaxTokens = 40,
        OverheadWarmUp = TimeSpan.FromSeconds(2),
        OverheadDuration = TimeSpan.FromSeconds(4),
        OverheadConcurrency = 32,
        RestConcurrency = 16,
        RestWarmUp = TimeSpan.FromSeconds(1),
        RestDuration = TimeSpan.FromSeconds(3),
        CacheRate = 50,
        CacheWarmUp = TimeSpan.FromSeconds(1),
        CacheDuration = TimeSpan.FromSeconds(4),
        OutageConcurrency = 8,
        OutageDuration = TimeSpan.FromSeconds(12),
        OutageDown = TimeSpan.FromSeconds(4),
        RegretHealthyCalls = 600,
        RegretDegradedCalls = 300,
        RegretRecoveredCalls = 500,
        // The chaos soak alone takes about 3.5 min of it, routing-regret about 1 min.
        MaxRunTime = TimeSpan.FromMinutes(11),
    };

    public static Profile Full { get; } = new()
    {
        Name = "full",
        UnaryConcurrency = 1_000,
        UnaryWarmUp = TimeSpan.FromSeconds(10),
        UnaryDuration = TimeSpan.FromSeconds(45),
        UnaryRate = 1_000,
        UnaryOpenDuration = TimeSpan.FromSeconds(30),
        StreamCounts = [1_000, 10_000],
        StreamRampUp = TimeSpan.FromSeconds(10),
        // 2 tokens/s × 60 tokens ≈ 30 s a stream: all 10,000 overlap after a 10 s ramp, at ~20k deltas/s in all.
        StreamTokensPerSecond = 2,
        StreamMaxTokens = 60,
        OverheadWarmUp = TimeSpan.FromSeconds(5),
        OverheadDuration = TimeSpan.FromSeconds(15),
        OverheadConcurrency = 64,
        RestConcurrency = 64,
        RestWarmUp = TimeSpan.FromSeconds(3),
        RestDuration = TimeSpan.FromSeconds(15),
        CacheRate = 200,
        CacheWarmUp = TimeSpan.FromSeconds(3),
        CacheDuration = TimeSpan.FromSeconds(15),
        OutageConcurrency = 64,
        OutageDuration = TimeSpan.FromSeconds(60),
        OutageDown = TimeSpan.FromSeconds(20),
        OutageQueueCapacity = 1_000,
        Chaos = ChaosSoakProfile.Full,
        RegretHealthyCalls = 2_000,
        RegretDegradedCalls = 1_000,
        RegretRecoveredCalls = 1_600,
        // The chaos soak alone takes about 16 min of it, routing-regret about 3 min.
        MaxRunTime = TimeSpan.FromMinutes(50),
    };
}
