using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using MonkeyCoder.LoadTests.Clients;
using MonkeyCoder.LoadTests.Engine;
using MonkeyCoder.LoadTests.Reporting;
using MonkeyCoder.V1;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>
/// Does the router learn what users want? A simulated market of five models (SIMULATED_MARKET_PATH)
/// that differ per task type in quality, latency, error rate and price; code and documentation
/// calls alternate at a fixed rate; a simulated user rates every answer by the answering model's
/// quality (Feedback RPC). The router's cumulative regret is measured against the best fixed model
/// per task type (in hindsight, over the whole run), and compared with the regret of the best
/// single model used for everything. Mid-run the best code model degrades (errors and latency, the
/// market file rewritten while the host runs) and later recovers.
/// </summary>
public sealed class RoutingRegret : IScenario
{
    private const string Code = "code_generation";
    private const string Docs = "documentation";

    /// <summary>The model that degrades: the best for code generation.</summary>
    private const string Degrading = "sim-coder";

    public string Name => "routing-regret";

    public string Description => "Routing learns from ratings: cumulative regret vs the best fixed model per task type below the best single fixed model's; the best code model degrades (80 % errors, 10× latency) and recovers: its share < 10 % within 50 code calls, > 50 % within 200 after recovery; no model starved.";

    /// <summary>One simulated model: catalog price and what it does per task type.</summary>
    private sealed record MarketModel(string Id, double InputPrice, double OutputPrice, Dictionary<string, (double Quality, int LatencyMs, double ErrorRate)> Tasks);

    private static readonly MarketModel[] Market =
    [
        new("sim-coder", 1.0, 4.0, new() { [Code] = (4.6, 60, 0.01), [Docs] = (2.6, 60, 0.01) }),
        new("sim-writer", 0.8, 3.2, new() { [Code] = (2.8, 50, 0.01), [Docs] = (4.5, 50, 0.01) }),
        new("sim-pro", 2.0, 8.0, new() { [Code] = (4.0, 120, 0.02), [Docs] = (3.9, 120, 0.02) }),
        new("sim-fast", 0.1, 0.4, new() { [Code] = (3.0, 25, 0.02), [Docs] = (3.2, 25, 0.02) }),
        new("sim-budget", 0.05, 0.2, new() { [Code] = (2.2, 40, 0.10), [Docs] = (2.4, 40, 0.10) }),
    ];

    private enum Stage
    {
        Healthy,
        Degraded,
        Recovered,
    }

    private sealed record Call(long Sequence, string Task, Stage Stage, string Chosen, string Answered, bool Ok, int Rating);

    /// <summary>What the market does for (model, task) in a stage: degraded = 80 % errors and 10× latency for the degrading model on code.</summary>
    private static (double Quality, int LatencyMs, double ErrorRate) Behaviour(MarketModel model, string task, Stage stage)
    {
        var b = model.Tasks[task];
        return stage == Stage.Degraded && model.Id == Degrading && task == Code ? (b.Quality, b.LatencyMs * 10, 0.8) : b;
    }

    /// <summary>
    /// Expected value of sending a call to <paramref name="model"/> first: the chance it answers times
    /// its rating on 0–1, (quality − 1)/4. A failed first attempt earns nothing (the caller waits for
    /// a retry or failover). Regret is measured in these units (one call of a perfect model = 1).
    /// </summary>
    private static double Value(MarketModel model, string task, Stage stage)
    {
        var (quality, _, errorRate) = Behaviour(model, task, stage);
        return (1 - errorRate) * (quality - 1) / 4;
    }

    public async Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken)
    {
        var profile = context.Profile;
        var result = new ScenarioResult { Name = Name, Description = Description };
        if (context.Options.Target is not null)
        {
            var missing = new PhaseResult { Scenario = Name, Phase = "learn-degrade-recover", Description = Description, Load = "none", Unavailable = "needs a Service the tool starts with a simulated market it can change (not --target)" };
            result.Phases.Add(missing);
            result.Notes.Add("not measured: " + missing.Unavailable);
            return result;
        }

        var marketPath = Path.Combine(Path.GetTempPath(), $"monkey-regret-market-{Environment.UserName}-{Environment.ProcessId}.json");
        WriteMarket(marketPath, Stage.Healthy);
        var environment = new Dictionary<string, string>
        {
            ["SIMULATED_MARKET_PATH"] = marketPath,
            ["SIMULATED_TOKENS_PER_SECOND"] = "0",
            ["CACHE_ENABLED"] = "false",
            ["RATE_LIMIT_ENABLED"] = "false",
            // Time decay in the scenario's time scale: ~100 code calls per half-life at its rate.
            ["ROUTER_DECAY_HALF_LIFE_SECONDS"] = profile.RegretHalfLifeSeconds.ToString(CultureInfo.InvariantCulture),
            // A circuit opened by the degraded model re-probes after 1 s instead of 30 s, so the
            // breaker does not hide the recovery from the bandit for thousands of calls.
            ["MonkeyCoder__Execution__BreakerBreakMs"] = "1000",
            ["MonkeyCoder__Execution__RetryBaseDelayMs"] = "10",
            ["MonkeyCoder__Execution__RetryMaxDelayMs"] = "50",
        };

        try
        {
            await using var host = await context.StartServiceAsync(environment, cancellationToken);
            result.Targets.Add($"{host!.Kind}: {host.Command} ({RunContext.Describe(environment)})");
            using var pool = new ChannelPool(context.ServiceAddress(host), 1);
            var user = new Random(20261204);
            var calls = new List<Call>();
            var stages = new[] { (Stage.Healthy, profile.RegretHealthyCalls), (Stage.Degraded, profile.RegretDegradedCalls), (Stage.Recovered, profile.RegretRecoveredCalls) };
            foreach (var (stage, count) in stages)
            {
                if (stage != Stage.Healthy)
                {
                    // Rewrite the market while the host runs; the provider re-reads it within 200 ms of a request.
                    WriteMarket(marketPath, stage);
                    await Task.Delay(TimeSpan.FromMilliseconds(600), cancellationToken);
                }

                var phase = await RunStageAsync(pool, stage, count, calls, user, profile, cancellationToken);
                result.Phases.Add(phase);
            }

            Analyse(calls, result, profile);
            RunContext.CollectHostErrors(host, result);
            var opened = host.Lines(l => l.Contains("circuit", StringComparison.OrdinalIgnoreCase) && l.Contains("open", StringComparison.OrdinalIgnoreCase)).Count;
            result.Notes.Add($"host log lines about open circuits: {opened} (the breaker takes part in moving away from the degraded model)");
        }
        finally
        {
            File.Delete(marketPath);
        }

        return result;
    }

    private static async Task<PhaseResult> RunStageAsync(ChannelPool pool, Stage stage, int count, List<Call> calls, Random user, Profile profile, CancellationToken cancellationToken)
    {
        var name = stage.ToString().ToLowerInvariant();
        var phase = new PhaseResult
        {
            Scenario = "routing-regret",
            Phase = name,
            Description = stage switch
            {
                Stage.Healthy => "every model as listed; code and documentation calls alternate",
                Stage.Degraded => $"{Degrading} on code: 80 % errors, 10× latency",
                _ => $"{Degrading} healthy again",
            },
            Load = string.Create(CultureInfo.InvariantCulture, $"{count} calls at {profile.RegretRate}/s, at most {profile.RegretConcurrency} in flight, each rated by the simulated user"),
        };
        var latency = new LatencyMetric(PhaseRecorder.LatencyMetricName);
        var first = calls.Count;
        var local = new Call?[count];
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        var errors = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        long next = -1;
        var started = Stopwatch.StartNew();
        var router = new RouterService.RouterServiceClient(pool.Next());

        async Task Worker()
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count)
                {
                    return;
                }

                var due = TimeSpan.FromSeconds(i / profile.RegretRate);
                var wait = due - started.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }

                var sequence = first + i;
                var task = sequence % 2 == 0 ? Code : Docs;
                var request = task == Code
                    ? GrpcCalls.Request($"write a python function number {sequence} that parses an ISO date and returns the weekday", 64, TaskType.CodeGeneration)
                    : GrpcCalls.Request($"document module {sequence} of the date parser for new contributors", 64, TaskType.Documentation);
                // The simulated user cares about answer quality only, and says so: cost and latency do not
                // enter this scenario's value, so the router is asked to weigh neither.
                request.Objective = RoutingObjective.Quality;
                var watch = Stopwatch.StartNew();
                try
                {
                    var response = await router.ExecuteAsync(request, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: cancellationToken);
                    latency.Record(watch.Elapsed);
                    var chosen = response.Attempts.Count > 0 ? response.Attempts[0].Model : response.Model;
                    var ok = response.Status == ExecutionStatus.Completed && response.Content.Length > 0;
                    var rating = 0;
                    if (ok)
                    {
                        var model = Market.FirstOrDefault(m => m.Id == response.Model);
                        double noise;
                        lock (user)
                        {
                            // Box–Muller: the user's rating scatters ±0.7 around the model's quality.
                            noise = Math.Sqrt(-2 * Math.Log(1 - user.NextDouble())) * Math.Cos(2 * Math.PI * user.NextDouble()) * 0.7;
                        }

                        rating = (int)Math.Clamp(Math.Round((model is null ? 3 : model.Tasks[task].Quality) + noise), 1, 5);
                        await router.FeedbackAsync(new FeedbackRequest { ExecutionId = response.ExecutionId, Rating = rating }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
                    }

                    statuses.AddOrUpdate(ok ? "OK" : "NOT_COMPLETED", 1, (_, v) => v + 1);
                    local[i] = new Call(sequence, task, stage, chosen, response.Model, ok, rating);
                }
                catch (RpcException ex)
                {
                    statuses.AddOrUpdate(ex.StatusCode.ToString().ToUpperInvariant(), 1, (_, v) => v + 1);
                    errors.TryAdd(ex.StatusCode.ToString().ToUpperInvariant(), ex.Status.Detail);
                    local[i] = new Call(sequence, task, stage, "", "", false, 0);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, profile.RegretConcurrency).Select(_ => Task.Run(Worker, cancellationToken)));
        var elapsed = started.Elapsed;
        calls.AddRange(local.Select(c => c!));
        phase.Ok = local.Count(c => c!.Ok);
        phase.Failed = count - phase.Ok;
        phase.DurationSeconds = Math.Round(elapsed.TotalSeconds, 1);
        phase.Throughput = Math.Round(phase.Ok / Math.Max(0.001, elapsed.TotalSeconds), 1);
        latency.Sample(elapsed.TotalSeconds);
        phase.Metrics[PhaseRecorder.LatencyMetricName] = latency.Summary();
        phase.Statuses = statuses.ToDictionary();
        phase.ErrorSamples = errors.ToDictionary();
        foreach (var task in new[] { Code, Docs })
        {
            var mine = local.Where(c => c!.Task == task).ToList();
            foreach (var model in Market)
            {
                phase.Values[$"share_{task}_{model.Id}"] = Math.Round(mine.Count(c => c!.Chosen == model.Id) / (double)Math.Max(1, mine.Count), 3);
            }
        }

        phase.Check([Threshold.ErrorRateBelow(1)]);
        return phase;
    }

    private static void Analyse(List<Call> calls, ScenarioResult result, Profile profile)
    {
        var models = Market.ToDictionary(m => m.Id);
        // Best fixed model per task type, in hindsight over the whole run (degradation included).
        var bestFixed = new Dictionary<string, string>();
        foreach (var task in new[] { Code, Docs })
        {
            bestFixed[task] = Market.MaxBy(m => calls.Where(c => c.Task == task).Sum(c => Value(m, task, c.Stage)))!.Id;
        }

        double Regret(Call c, string model) => Value(models[bestFixed[c.Task]], c.Task, c.Stage) - (models.TryGetValue(model, out var m) ? Value(m, c.Task, c.Stage) : 0);

        var router = new List<double>(calls.Count);
        var fixedCurves = Market.ToDictionary(m => m.Id, _ => new List<double>(calls.Count));
        double total = 0;
        var fixedTotals = Market.ToDictionary(m => m.Id, _ => 0.0);
        foreach (var c in calls)
        {
            total += Regret(c, c.Chosen);
            router.Add(total);
            foreach (var m in Market)
            {
                fixedTotals[m.Id] += Regret(c, m.Id);
                fixedCurves[m.Id].Add(fixedTotals[m.Id]);
            }
        }

        var bestSingle = fixedTotals.MinBy(kv => kv.Value);
        result.Summary["calls"] = calls.Count;
        result.Summary["router_cumulative_regret"] = Math.Round(total, 2);
        result.Summary["best_single_fixed_regret"] = Math.Round(bestSingle.Value, 2);
        result.Summary["router_regret_per_call"] = Math.Round(total / Math.Max(1, calls.Count), 4);
        result.Notes.Add($"best fixed model per task type (hindsight): {Code} → {bestFixed[Code]}, {Docs} → {bestFixed[Docs]}; best single fixed model for both: {bestSingle.Key}; regret unit = one call's value, (1 − error rate)·(quality − 1)/4");
        result.Notes.Add("regret of every single fixed model: " + string.Join(", ", fixedTotals.OrderBy(kv => kv.Value).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:0.#}"))));

        // Degradation and recovery, counted in code calls (the degraded model's task type).
        var code = calls.Where(c => c.Task == Code).ToList();
        var degradedAt = code.FindIndex(c => c.Stage == Stage.Degraded);
        var recoveredAt = code.FindIndex(c => c.Stage == Stage.Recovered);
        const int window = 50;
        double ShareAt(int from) => code.Skip(from).Take(window).Count(c => c.Chosen == Degrading) / (double)window;
        int? FirstWindow(int from, int to, Func<double, bool> test)
        {
            for (var k = from; k + window <= to; k++)
            {
                if (test(ShareAt(k)))
                {
                    return k - from;
                }
            }

            return null;
        }

        var awayAfter = FirstWindow(degradedAt, recoveredAt, s => s < 0.10);
        var backAfter = FirstWindow(recoveredAt, code.Count, s => s > 0.50);
        result.Summary["share_before_degradation"] = Math.Round(code.Take(degradedAt).TakeLast(200).Count(c => c.Chosen == Degrading) / (double)Math.Min(200, Math.Max(1, degradedAt)), 3);
        result.Summary["code_calls_to_move_away"] = awayAfter ?? -1;
        result.Summary["code_calls_to_come_back"] = backAfter ?? -1;
        result.Notes.Add($"calls to move away = code calls after the degradation until a {window}-call window in which {Degrading} is chosen first for < 10 %; calls to come back = code calls after the recovery until a {window}-call window > 50 % (-1 = never)");

        // Starvation: every model chosen first at least once in every 500-call window of each task type.
        var starved = new List<string>();
        foreach (var task in new[] { Code, Docs })
        {
            var mine = calls.Where(c => c.Task == task).ToList();
            for (var start = 0; start + 500 <= mine.Count; start += 500)
            {
                foreach (var m in Market.Where(m => !mine.Skip(start).Take(500).Any(c => c.Chosen == m.Id)))
                {
                    starved.Add($"{m.Id} on {task} calls {start}–{start + 499}");
                }
            }
        }

        result.Summary["starved_windows"] = starved.Count;
        if (starved.Count > 0)
        {
            result.Notes.Add("starved: " + string.Join("; ", starved));
        }

        result.Thresholds.Add(new ThresholdResult($"router regret < best single fixed model's ({bestSingle.Key})", Math.Round(total, 2), "<", Math.Round(bestSingle.Value, 2), "", total < bestSingle.Value));
        result.Thresholds.Add(new ThresholdResult($"{Degrading} below 10 % of a 50-call window within 50 code calls of degrading", awayAfter, "<=", 50, " calls", awayAfter is <= 50));
        result.Thresholds.Add(new ThresholdResult($"{Degrading} above 50 % of a 50-call window within 200 code calls of recovering", backAfter, "<=", 200, " calls", backAfter is <= 200));
        result.Thresholds.Add(new ThresholdResult("no model starved (chosen first in every 500-call window of each task type)", starved.Count, "<=", 0, " windows", starved.Count == 0));

        var series = new List<(string, string, IReadOnlyList<double>)>
        {
            ("router", "#1f77b4", router),
            ($"best single fixed ({bestSingle.Key})", "#d62728", fixedCurves[bestSingle.Key]),
        };
        var second = fixedTotals.Where(kv => kv.Key != bestSingle.Key).MinBy(kv => kv.Value);
        series.Add(($"next fixed ({second.Key})", "#ff7f0e", fixedCurves[second.Key]));
        var markers = new List<(double, string)> { (calls.FindIndex(c => c.Stage == Stage.Degraded), "degraded"), (calls.FindIndex(c => c.Stage == Stage.Recovered), "recovered") };
        result.Charts["routing-regret-cumulative.svg"] = SvgLines.Render(
            $"routing-regret ({profile.Name}): cumulative regret vs the best fixed model per task type", "calls", "cumulative regret (calls of value)", series, markers);
    }

    private static void WriteMarket(string path, Stage stage)
    {
        var document = new Dictionary<string, object>
        {
            ["seed"] = 4242,
            ["models"] = Market.Select(m => new Dictionary<string, object>
            {
                ["id"] = m.Id,
                ["inputPricePerMillion"] = m.InputPrice,
                ["outputPricePerMillion"] = m.OutputPrice,
                // The catalog claims the same for all: the router has to learn who is good at what.
                ["capabilities"] = new Dictionary<string, double> { ["codeGeneration"] = 0.85, ["reasoning"] = 0.85, ["reliability"] = 0.97 },
                ["typicalLatencyMs"] = 100,
                ["quality"] = 3,
                ["tasks"] = m.Tasks.Keys.ToDictionary(t => t, t =>
                {
                    var (quality, latencyMs, errorRate) = Behaviour(m, t, stage);
                    return new Dictionary<string, object> { ["quality"] = quality, ["latencyMs"] = latencyMs, ["errorRate"] = errorRate };
                }),
            }).ToList(),
        };
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(document));
        File.Move(temporary, path, overwrite: true);
    }
}
