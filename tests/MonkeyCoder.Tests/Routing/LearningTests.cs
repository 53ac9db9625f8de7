using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.Tests.Execution;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Routing;

/// <summary>
/// The router's learning end to end on fake time: plan, observe the first candidate's outcome and
/// the simulated user's rating through the same store and reward model the executor and the
/// Feedback RPC use, repeat. The two models are the shipped simulated pair (sim-fast: cheap, fast in
/// the catalog, weaker scores; sim-pro: expensive, slow in the catalog, stronger).
/// </summary>
public sealed class LearningTests
{
    private static readonly CatalogModel Fast = new()
    {
        Id = "sim-fast", Provider = "simulated", ContextWindow = 128_000, MaxOutputTokens = 16_384, InputPricePerMillion = 0.1, OutputPricePerMillion = 0.4,
        Capabilities = new ModelScores { CodeGeneration = 0.7, Reasoning = 0.6, Reliability = 0.99 }, TypicalLatencyMs = 300,
    };

    private static readonly CatalogModel Pro = Fast with
    {
        Id = "sim-pro", InputPricePerMillion = 2, OutputPricePerMillion = 8,
        Capabilities = new ModelScores { CodeGeneration = 0.9, Reasoning = 0.9, Reliability = 0.99 }, TypicalLatencyMs = 900,
    };

    /// <summary>What the world does when a model is called: success, latency (ms), and the user's rating (null = no rating).</summary>
    private delegate (bool Ok, double LatencyMs, int? Rating) World(string modelId, string taskClass);

    private sealed class Loop
    {
        private readonly RewardModel _rewards;

        public Loop(int seed, RoutingOptions? options = null, CatalogModel[]? models = null)
        {
            Options = options ?? new RoutingOptions();
            Options.RandomSeed = seed;
            var ropts = Microsoft.Extensions.Options.Options.Create(Options);
            _rewards = new RewardModel(Options);
            Stats = new InMemoryRouterStatsStore(ropts, Time);
            var breaker = new CircuitBreaker(new InMemoryCircuitBreakerStore(), Time,
                Microsoft.Extensions.Options.Options.Create(new ExecutionOptions()), NullLogger<CircuitBreaker>.Instance);
            Router = new CapabilityRouter(new TaskAnalyzer(TestCatalog.Tokens), TestCatalog.Of(models ?? [Fast, Pro]), new ProviderRegistry([new FakeProvider("simulated", Time)]),
                new ProviderHealthMonitor(), breaker, Stats, new ThompsonSamplingBandit(ropts, new BanditRandom(seed)), new UnlimitedRoutingBudget(), ropts,
                NullLogger<CapabilityRouter>.Instance);
        }

        public RoutingOptions Options { get; }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

        public InMemoryRouterStatsStore Stats { get; }

        public CapabilityRouter Router { get; }

        /// <summary>Time between two calls. Defaults to 2 s.</summary>
        public TimeSpan Step { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>Runs <paramref name="calls"/> calls; returns the model id each went to first.</summary>
        public async Task<List<string>> RunAsync(TaskRequest task, int calls, World world)
        {
            var picks = new List<string>(calls);
            for (var i = 0; i < calls; i++)
            {
                var plan = await Router.PlanAsync(task, CancellationToken.None);
                var model = plan.Candidates[0].Model;
                var taskClass = LearningKeys.TaskClass(plan.Analysis);
                var (ok, latency, rating) = world(model.Id, taskClass);
                var observation = new AttemptObservation(ok, ok ? "ok" : "overloaded", latency, null, ok ? 0.0005 : 0);
                await Stats.UpdateForTaskAsync(model.Key, taskClass, _rewards.ForAttempt(observation, ok ? null : ProviderErrorClass.Overloaded), CancellationToken.None);
                if (rating is { } r && ok)
                {
                    await Stats.UpdateForTaskAsync(model.Key, taskClass, _rewards.ForRating(r), CancellationToken.None);
                }

                picks.Add(model.Id);
                Time.Advance(Step);
            }

            return picks;
        }
    }

    private static TaskRequest Code => new() { TaskType = TaskType.CodeGeneration, Prompt = "write a function that parses an ISO date and returns the weekday", MaxTokens = 500 };

    private static TaskRequest Docs => new() { TaskType = TaskType.Documentation, Prompt = "document the date parsing module for new contributors", MaxTokens = 500 };

    private static TaskRequest Simple => new() { TaskType = TaskType.Chat, Prompt = "hi, what is 2 + 2?", MaxTokens = 200 };

    private static double Share(IEnumerable<string> picks, string id)
    {
        var list = picks.ToList();
        return list.Count(p => p == id) / (double)list.Count;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task PlanAsync_FirstModelToCollectSuccesses_DoesNotLockTheOtherOut(int seed)
    {
        // The issue's lock-out: both answer in 20 ms, sim-fast happens to collect the first successes.
        // Quality objective: cost and latency do not count, so the two are equally good and both
        // must keep a real share; before, sim-fast's observed 20 ms against sim-pro's catalog 900 ms
        // kept sim-pro out for good.
        var loop = new Loop(seed);
        var quality = Code with { Objective = RoutingObjective.Quality };
        await loop.RunAsync(quality with { ModelPreferences = new Dictionary<string, string> { ["simulated"] = "sim-fast" } }, 5, (_, _) => (true, 20, null));

        var equal = await loop.RunAsync(quality, 300, (_, _) => (true, 20, null));
        Assert.True(Share(equal, "sim-pro") > 0.25, $"sim-pro got {Share(equal, "sim-pro"):P0} of 300 calls after sim-fast's first successes");

        // On the balanced objective sim-fast is as good and far cheaper, so it leads, but sim-pro is
        // still explored, and the users' ratings (sim-pro 5, sim-fast 1) still steer.
        var balanced = await loop.RunAsync(Code, 300, (_, _) => (true, 20, null));
        Assert.Contains("sim-pro", balanced.TakeLast(100));
        var rated = await loop.RunAsync(Code, 150, (id, _) => (true, 20, id == "sim-pro" ? 5 : 1));
        Assert.True(Share(rated.TakeLast(50), "sim-pro") > 0.75, $"sim-pro got {Share(rated.TakeLast(50), "sim-pro"):P0} of the last 50 rated calls");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task PlanAsync_SimplePrompt_RatingsMoveRoutingToTheBetterRatedModel(int seed)
    {
        // A simple prompt: sim-fast has the cheap-model bonus and the better static score; users rate it 1 and sim-pro 5.
        var loop = new Loop(seed);
        var before = (await loop.Router.PlanAsync(Simple, CancellationToken.None)).Candidates[0].Model.Id;
        Assert.Equal("sim-fast", before);

        var picks = await loop.RunAsync(Simple, 300, (id, _) => (true, id == "sim-pro" ? 900 : 300, id == "sim-pro" ? 5 : 1));
        Assert.True(Share(picks.TakeLast(100), "sim-pro") > 0.6, $"sim-pro got {Share(picks.TakeLast(100), "sim-pro"):P0} of the last 100 simple prompts");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task PlanAsync_RatingsOnOneTaskType_DoNotOverwriteAnother(int seed)
    {
        // Users prefer sim-pro for code and sim-fast for documentation; calls of both kinds interleave.
        var loop = new Loop(seed);
        (bool, double, int?) World(string id, string task) => (true, 50, (task == "code_generation") == (id == "sim-pro") ? 5 : 1);
        var code = new List<string>();
        var docs = new List<string>();
        for (var round = 0; round < 200; round++)
        {
            code.AddRange(await loop.RunAsync(Code, 1, World));
            docs.AddRange(await loop.RunAsync(Docs, 1, World));
        }

        Assert.True(Share(code.TakeLast(100), "sim-pro") > 0.7, $"code: sim-pro got {Share(code.TakeLast(100), "sim-pro"):P0} of the last 100");
        Assert.True(Share(docs.TakeLast(100), "sim-fast") > 0.7, $"documentation: sim-fast got {Share(docs.TakeLast(100), "sim-fast"):P0} of the last 100");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task PlanAsync_ModelRecovers_DecayBringsItBack(int seed)
    {
        // sim-pro is the users' favourite, fails every call for a while, then is healthy again.
        var loop = new Loop(seed, new RoutingOptions { DecayHalfLifeSeconds = 300 });
        var failing = false;
        (bool, double, int?) World(string id, string _) => id == "sim-pro" ? (!failing, 100, 5) : (true, 100, 3);

        var healthy = await loop.RunAsync(Code, 200, World);
        Assert.True(Share(healthy.TakeLast(100), "sim-pro") > 0.7, $"healthy: sim-pro got {Share(healthy.TakeLast(100), "sim-pro"):P0}");

        failing = true;
        var degraded = await loop.RunAsync(Code, 300, World);
        Assert.True(Share(degraded.Skip(50), "sim-pro") < 0.1, $"failing: sim-pro still got {Share(degraded.Skip(50), "sim-pro"):P0} after 50 calls");
        Assert.Contains("sim-pro", degraded.Skip(100)); // still explored (floor, decay)

        failing = false;
        var recovered = await loop.RunAsync(Code, 300, World);
        var back = Enumerable.Range(0, recovered.Count - 50).FirstOrDefault(i => Share(recovered.Skip(i).Take(50), "sim-pro") > 0.5, -1);
        Assert.True(back is >= 0 and <= 200, $"recovered: sim-pro back above 50 % of a 50-call window after {back} calls");
    }

    /// <summary>
    /// The routing-regret load scenario's market in fake time: five models whose catalog entries claim
    /// the same, differing only in what users rate them per task type; code and documentation calls
    /// alternate 25 ms apart (half-life 5 s ≈ 100 code calls). The best code model then fails 80 % of
    /// its calls (the executor's three attempts on it, then the next candidate answers) for 150 code
    /// calls, then recovers. It must come back above half of a 50-call window within 200 code calls,
    /// and move away below 10 % within 50 (the issue's thresholds; the load scenario adds the breaker,
    /// which this loop leaves out). Measured here over 68 seeds: back after 9–195 code calls (median
    /// ~110), away after 1–51 — inside the limits but not by much, which is what the load scenario's
    /// occasional miss is made of (see docs/performance.md, routing-regret).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public async Task PlanAsync_BestOfFiveDegradesThenRecovers_BackWithin200CodeCalls(int seed)
    {
        var claims = new ModelScores { CodeGeneration = 0.85, Reasoning = 0.85, Reliability = 0.97 };
        CatalogModel Sim(string id, double input, double output) => Fast with { Id = id, InputPricePerMillion = input, OutputPricePerMillion = output, Capabilities = claims, TypicalLatencyMs = 100 };
        var market = new Dictionary<string, (double Code, double Docs, double Errors)>
        {
            ["sim-coder"] = (4.6, 2.6, 0.01), ["sim-writer"] = (2.8, 4.5, 0.01), ["sim-pro"] = (4.0, 3.9, 0.02),
            ["sim-fast"] = (3.0, 3.2, 0.02), ["sim-budget"] = (2.2, 2.4, 0.10),
        };
        var loop = new Loop(seed, new RoutingOptions { DecayHalfLifeSeconds = 5 },
            [Sim("sim-coder", 1, 4), Sim("sim-writer", 0.8, 3.2), Sim("sim-pro", 2, 8), Sim("sim-fast", 0.1, 0.4), Sim("sim-budget", 0.05, 0.2)]) { Step = TimeSpan.FromMilliseconds(25) };
        var rewards = new RewardModel(loop.Options);
        var user = new Random(seed);
        var degraded = false;

        // One call as the executor runs it: the first candidate, retried twice on a failure, then the next one answers.
        async Task<string> CallAsync(TaskRequest task)
        {
            var plan = await loop.Router.PlanAsync(task, CancellationToken.None);
            var taskClass = LearningKeys.TaskClass(plan.Analysis);
            var code = task.TaskType == TaskType.CodeGeneration;
            foreach (var candidate in plan.Candidates.Take(2))
            {
                var (codeQuality, docsQuality, errors) = market[candidate.Model.Id];
                var errorRate = degraded && code && candidate.Model.Id == "sim-coder" ? 0.8 : errors;
                for (var attempt = 0; attempt < 3; attempt++)
                {
                    var ok = user.NextDouble() >= errorRate;
                    var observation = new AttemptObservation(ok, ok ? "ok" : "overloaded", 60, null, ok ? 0.0005 : 0);
                    await loop.Stats.UpdateForTaskAsync(candidate.Model.Key, taskClass, rewards.ForAttempt(observation, ok ? null : ProviderErrorClass.Overloaded), CancellationToken.None);
                    if (ok)
                    {
                        var noise = Math.Sqrt(-2 * Math.Log(1 - user.NextDouble())) * Math.Cos(2 * Math.PI * user.NextDouble()) * 0.7;
                        var rating = (int)Math.Clamp(Math.Round((code ? codeQuality : docsQuality) + noise), 1, 5);
                        await loop.Stats.UpdateForTaskAsync(candidate.Model.Key, taskClass, rewards.ForRating(rating), CancellationToken.None);
                        loop.Time.Advance(loop.Step);
                        return plan.Candidates[0].Model.Id;
                    }
                }
            }

            loop.Time.Advance(loop.Step);
            return plan.Candidates[0].Model.Id;
        }

        async Task<List<string>> CodeCallsAsync(int count)
        {
            var picks = new List<string>(count);
            for (var i = 0; i < count; i++)
            {
                picks.Add(await CallAsync(Code with { Objective = RoutingObjective.Quality }));
                await CallAsync(Docs with { Objective = RoutingObjective.Quality });
            }

            return picks;
        }

        var healthy = await CodeCallsAsync(300);
        Assert.True(Share(healthy.TakeLast(100), "sim-coder") > 0.5, $"healthy: sim-coder got {Share(healthy.TakeLast(100), "sim-coder"):P0} of the last 100 code calls");

        degraded = true;
        var bad = await CodeCallsAsync(150);
        var away = Enumerable.Range(0, bad.Count - 50).FirstOrDefault(i => Share(bad.Skip(i).Take(50), "sim-coder") < 0.1, -1);
        Assert.True(away is >= 0 and <= 50, $"degraded: sim-coder below 10 % of a 50-call window after {away} code calls");

        degraded = false;
        var recovered = await CodeCallsAsync(250);
        var back = Enumerable.Range(0, recovered.Count - 50).FirstOrDefault(i => Share(recovered.Skip(i).Take(50), "sim-coder") > 0.5, -1);
        Assert.True(back is >= 0 and <= 200, $"recovered: sim-coder above 50 % of a 50-call window after {back} code calls (-1 = never in 250)");
    }

    [Fact]
    public async Task Snapshot_SavedAndLoaded_StatisticsSurviveARestart()
    {
        var path = Path.Combine(Path.GetTempPath(), $"monkey-router-stats-{Environment.UserName}-{Guid.NewGuid():N}.json");
        try
        {
            var options = new RoutingOptions { SnapshotPath = path };
            var before = new Loop(1, options);
            await before.RunAsync(Code, 40, (id, _) => (true, 50, id == "sim-pro" ? 5 : 2));
            var ropts = Microsoft.Extensions.Options.Options.Create(options);
            new RouterStatsSnapshot(before.Stats, ropts, NullLogger<RouterStatsSnapshot>.Instance).Save();

            var after = new InMemoryRouterStatsStore(ropts, before.Time);
            new RouterStatsSnapshot(after, ropts, NullLogger<RouterStatsSnapshot>.Instance).Load();
            var keys = new[] { "simulated/sim-pro", LearningKeys.ForTask("simulated/sim-fast", "code_generation") };
            var expected = await before.Stats.GetAsync(keys, CancellationToken.None);
            var loaded = await after.GetAsync(keys, CancellationToken.None);
            foreach (var key in keys)
            {
                Assert.True(expected[key].Attempts > 0);
                Assert.Equal(expected[key], loaded[key]);
            }

            // Without the opt-in a new store starts empty.
            var fresh = new InMemoryRouterStatsStore(Microsoft.Extensions.Options.Options.Create(new RoutingOptions()), before.Time);
            Assert.Equal(0, (await fresh.GetAsync(keys, CancellationToken.None))[keys[0]].Attempts);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
