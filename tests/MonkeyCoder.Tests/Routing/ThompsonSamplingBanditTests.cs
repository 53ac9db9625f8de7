using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Routing.Learning;

namespace MonkeyCoder.Tests.Routing;

public sealed class ThompsonSamplingBanditTests
{
    /// <summary>A simulated model: how often it succeeds and how long it takes.</summary>
    private sealed record Arm(string Key, double SuccessRate, double LatencyMs, double CostUsd);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Choose_SimulatedArms_ConvergesToBestArm(int seed)
    {
        // Equal priors (the router scored them alike). The best arm is neither the most reliable
        // (slow) nor the fastest (flaky): value = success − 0.2·(1 − fastest/latency) − 0.1·(1 − cheapest/cost).
        Arm[] arms =
        [
            new("p/flaky-fast", 0.60, 500, 0.001),
            new("p/best", 0.90, 2_000, 0.002),
            new("p/reliable-slow", 0.93, 19_000, 0.04),
        ];
        // A long memory (≈ 200 outcomes) and no exploration floor: the bandit's own convergence.
        var options = new RoutingOptions { RandomSeed = seed, Decay = 0.995, ExplorationFloor = 0 };
        // The router subtracts latency and cost relative to the fastest and cheapest candidate.
        double Penalty(Arm a) => options.LatencyWeight * (1 - 500 / a.LatencyMs) + options.CostWeight * (1 - 0.001 / a.CostUsd);
        var opts = Options.Create(options);
        var bandit = new ThompsonSamplingBandit(opts, new BanditRandom(seed));
        var stats = new InMemoryRouterStatsStore(opts, new FakeTimeProvider());
        var rewards = new RewardModel(options);
        var world = new Random(seed * 7919);
        const int rounds = 1500;
        var latePulls = new Dictionary<string, int>();

        for (var round = 0; round < rounds; round++)
        {
            var learned = await stats.GetAsync(arms.Select(a => a.Key).ToList(), CancellationToken.None);
            var choice = bandit.Choose(arms.Select(a => new BanditArm(a.Key, 0.9, learned[a.Key], Penalty: Penalty(a))).ToList());
            var arm = arms[choice.Index];
            var ok = world.NextDouble() < arm.SuccessRate;
            var observation = new AttemptObservation(ok, ok ? "ok" : "overloaded", arm.LatencyMs, null, arm.CostUsd);
            await stats.UpdateAsync(arm.Key, rewards.ForAttempt(observation, ok ? null : ProviderErrorClass.Overloaded), CancellationToken.None);
            if (round >= rounds - 500)
            {
                latePulls[arm.Key] = latePulls.GetValueOrDefault(arm.Key) + 1;
            }
        }

        var best = latePulls.GetValueOrDefault("p/best");
        Assert.True(best > 350, $"best arm got {best} of the last 500 pulls: {string.Join(", ", latePulls.Select(kv => $"{kv.Key}={kv.Value}"))}");
        // Still exploring a little: Thompson sampling never freezes completely on a decayed posterior.
        Assert.True(best < 500 || latePulls.Count == 1);
    }

    [Fact]
    public void Choose_ExplorationRateZero_AlwaysHighestPosteriorMean()
    {
        var bandit = new ThompsonSamplingBandit(Options.Create(new RoutingOptions { ExplorationRate = 0 }), new BanditRandom(1));
        var arms = new[]
        {
            new BanditArm("a", 0.9, new ModelStats { Alpha = 5, Beta = 5 }),
            new BanditArm("b", 0.9, new ModelStats { Alpha = 9, Beta = 1 }),
        };
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(1, bandit.Choose(arms).Index);
        }
    }

    [Fact]
    public void Choose_SameSeed_SameDraws()
    {
        var arms = new[] { new BanditArm("a", 0.5, ModelStats.Empty), new BanditArm("b", 0.5, ModelStats.Empty) };
        var one = new ThompsonSamplingBandit(Options.Create(new RoutingOptions()), new BanditRandom(99));
        var two = new ThompsonSamplingBandit(Options.Create(new RoutingOptions()), new BanditRandom(99));
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(one.Choose(arms).Draws, two.Choose(arms).Draws);
        }
    }

    [Fact]
    public void NextBeta_MeanMatchesParameters()
    {
        var random = new BanditRandom(5);
        var mean = Enumerable.Range(0, 20_000).Select(_ => random.NextBeta(2, 6)).Average();
        Assert.Equal(0.25, mean, 2);
        var small = Enumerable.Range(0, 20_000).Select(_ => random.NextBeta(0.5, 0.5)).Average();
        Assert.Equal(0.5, small, 1);
    }

    [Fact]
    public void Apply_Decay_ForgetsOldEvidence()
    {
        var s = ModelStats.Empty;
        for (var i = 0; i < 1000; i++)
        {
            s = s.Apply(new StatsUpdate(1, 1, null), 0.99, 1, 3600);
        }

        // Geometric series: evidence converges to 1/(1 − 0.99) = 100.
        Assert.InRange(s.Evidence, 99, 100.01);
    }

    [Fact]
    public void DecayedTo_OneHalfLife_HalvesEveryCountButKeepsTheAverages()
    {
        var s = new ModelStats { Alpha = 8, Beta = 4, Attempts = 12, Failures = 4, LatencyMs = 250, CostUsd = 0.01, UpdatedAtMs = 1_000 };
        var later = s.DecayedTo(1_000 + 60_000, 60);
        Assert.Equal(4, later.Alpha, 9);
        Assert.Equal(2, later.Beta, 9);
        Assert.Equal(6, later.Attempts, 9);
        Assert.Equal(2, later.Failures, 9);
        Assert.Equal(250, later.LatencyMs);
        // A sample after a long idle time weighs more than the 20 % floor: the average restarts from now.
        var idle = s.DecayedTo(1_000 + 600_000, 60).Apply(new StatsUpdate(1, 1, new AttemptObservation(true, "ok", 1_000, null, 0.01)), 1, 1_000 + 600_000, 60);
        Assert.True(idle.LatencyMs > 900, $"latency after idle {idle.LatencyMs}");
    }

    [Fact]
    public void RewardModel_RequestCausedFailures_DoNotTeachTheBandit()
    {
        var rewards = new RewardModel(new RoutingOptions());
        var failed = new AttemptObservation(false, "context_length_exceeded", 100, null, 0);
        Assert.Equal(0, rewards.ForAttempt(failed, ProviderErrorClass.ContextLengthExceeded).Weight);
        Assert.Equal(1, rewards.ForAttempt(failed with { ErrorClass = "overloaded" }, ProviderErrorClass.Overloaded).Weight);
        Assert.Equal(0, rewards.ForAttempt(failed, ProviderErrorClass.Overloaded).Reward);
        Assert.Equal(1, rewards.ForRating(5).Reward);
        Assert.Equal(0, rewards.ForRating(1).Reward);
        Assert.Equal(0.5, rewards.ForRating(3).Reward);
    }

    [Fact]
    public async Task InMemoryStore_ExecutionMemory_BoundedAndExpires()
    {
        var time = new FakeTimeProvider();
        var store = new InMemoryRouterStatsStore(Options.Create(new RoutingOptions { ExecutionMemoryCapacity = 3, ExecutionMemoryHours = 1 }), time);
        for (var i = 0; i < 5; i++)
        {
            await store.RememberExecutionAsync($"e{i}", $"p/m{i}", "usr_1", "", CancellationToken.None);
        }

        Assert.Null(await store.FindExecutionAsync("e0", CancellationToken.None));
        Assert.Null(await store.FindExecutionAsync("e1", CancellationToken.None));
        Assert.Equal(new RememberedExecution("p/m4", "usr_1"), await store.FindExecutionAsync("e4", CancellationToken.None));
        Assert.True(await store.TryMarkRatedAsync("e4", CancellationToken.None));
        Assert.False(await store.TryMarkRatedAsync("e4", CancellationToken.None));
        time.Advance(TimeSpan.FromHours(2));
        Assert.Null(await store.FindExecutionAsync("e4", CancellationToken.None));
    }
}
