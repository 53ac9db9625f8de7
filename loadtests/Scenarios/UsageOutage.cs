using System.Diagnostics;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using MonkeyCoder.LoadTests.Clients;
using MonkeyCoder.LoadTests.Engine;
using MonkeyCoder.LoadTests.Hosts;
using MonkeyCoder.V1;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>
/// Nothing lost: Execute under a closed-model load against a Service on real PostgreSQL, which is
/// stopped (fast shutdown) a quarter into the run and started again later. Every call the tool
/// saw succeed must appear in <c>GetUsage</c> once, no more and no less, after the usage queue
/// has drained (held in memory, spilled to disk when full, written when PostgreSQL is back).
/// Needs the test PostgreSQL of <c>scripts/services.sh</c>; without it the scenario is not measured.
/// </summary>
public sealed class UsageOutage : IScenario
{
    public string Name => "usage-outage";

    public string Description => "Execute under load while PostgreSQL is stopped and restarted: GetUsage's succeeded executions equal the successful calls the tool counted.";

    public async Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken)
    {
        var profile = context.Profile;
        var result = new ScenarioResult { Name = Name, Description = Description };
        var postgres = PostgresControl.FromEnvironment();
        if (postgres is null || context.Options.Target is not null)
        {
            var why = postgres is null
                ? "needs the test PostgreSQL: `source scripts/services.sh start` first (MONKEY_TEST_* variables)"
                : "needs a Service the tool starts on that PostgreSQL (not --target)";
            var missing = new PhaseResult { Scenario = Name, Phase = "restart-postgres-under-load", Description = Description, Load = "none", Unavailable = why };
            missing.Thresholds.Add(new ThresholdResult("PostgreSQL to restart is available", 0, ">=", 1, "", !context.Options.RequireEndpoints));
            result.Phases.Add(missing);
            result.Notes.Add($"not measured: {why}{(context.Options.RequireEndpoints ? "; fails the run (--require-endpoints)" : "")}");
            return result;
        }

        var environment = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = postgres.DatabaseUrl,
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "50",
            ["SIMULATED_TOKENS_PER_SECOND"] = "0",
            // Small, so an outage of a few seconds overflows memory and exercises the durable spill too.
            ["MonkeyCoder__Usage__QueueCapacity"] = profile.OutageQueueCapacity.ToString(CultureInfo.InvariantCulture),
        };
        await using var host = await context.StartServiceAsync(environment, cancellationToken);
        result.Targets.Add($"{host!.Kind}: {host.Command} ({RunContext.Describe(environment)})");
        using var pool = new ChannelPool(context.ServiceAddress(host), 2);
        var usage = new UsageService.UsageServiceClient(pool.Next());
        var from = DateTimeOffset.UtcNow.AddSeconds(-1);

        long succeeded = 0;
        long sequence = 0;
        var downFor = TimeSpan.Zero;
        var outage = Task.Run(async () =>
        {
            await Task.Delay(profile.OutageDuration / 4, cancellationToken);
            await postgres.StopAsync();
            var down = Stopwatch.StartNew();
            try
            {
                await Task.Delay(profile.OutageDown, cancellationToken);
            }
            finally
            {
                await postgres.StartAsync();
                downFor = down.Elapsed;
            }
        }, cancellationToken);

        PhaseResult phase;
        try
        {
            phase = await PhaseRunner.RunAsync(Name, "restart-postgres-under-load",
                $"Execute (unique prompts, no cache) while PostgreSQL is down for {profile.OutageDown.TotalSeconds:0.#} s",
                new KeepConcurrent(profile.OutageConcurrency, profile.OutageDuration, TimeSpan.FromSeconds(1)),
                (ctx, ct) => GrpcCalls.ExecuteAsync(pool,
                    GrpcCalls.Request($"write a python function number {Interlocked.Increment(ref sequence)} that parses a date", 32, TaskType.CodeGeneration),
                    ctx, ct, _ => Interlocked.Increment(ref succeeded)),
                [], context.DrainLimit, cancellationToken);
        }
        finally
        {
            // PostgreSQL is started again whatever happened to the load.
            await outage;
        }

        // The queue drains after PostgreSQL is back: wait (bounded) for the count to settle.
        var counted = Interlocked.Read(ref succeeded);
        UsageTotals totals = new();
        var wait = Stopwatch.StartNew();
        while (wait.Elapsed < TimeSpan.FromSeconds(90))
        {
            try
            {
                totals = (await usage.GetUsageAsync(new GetUsageRequest { StartTime = Timestamp.FromDateTimeOffset(from) },
                    deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken)).Totals;
                if (totals.Succeeded >= counted)
                {
                    // Reached: look once more a moment later, so a late duplicate is counted too.
                    await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                    totals = (await usage.GetUsageAsync(new GetUsageRequest { StartTime = Timestamp.FromDateTimeOffset(from) },
                        deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken)).Totals;
                    break;
                }
            }
            catch (Grpc.Core.RpcException)
            {
                // PostgreSQL may still be starting.
            }

            await Task.Delay(250, cancellationToken);
        }

        phase.Values["successful_calls_counted"] = counted;
        phase.Values["usage_succeeded"] = totals.Succeeded;
        phase.Values["usage_executions"] = totals.Executions;
        // Counted apart: a missing event and a duplicated one must not cancel out (or print as each other).
        var eventsMissing = Math.Max(0, counted - totals.Succeeded);
        var eventsDuplicated = Math.Max(0, totals.Succeeded - counted);
        phase.Values["events_missing"] = eventsMissing;
        phase.Values["events_duplicated"] = eventsDuplicated;
        phase.Values["postgres_down_s"] = Math.Round(downFor.TotalSeconds, 1);
        phase.Values["usage_settle_s"] = Math.Round(wait.Elapsed.TotalSeconds, 1);
        phase.Check(
        [
            Threshold.AtLeast("successful calls", "successful_calls_counted", 50),
            Threshold.AtMost("usage events missing", "events_missing", 0),
            Threshold.AtMost("usage events duplicated", "events_duplicated", 0),
        ]);
        var recovered = host.Lines(l => l.Contains("Usage writes recovered", StringComparison.Ordinal)).Count;
        var replayed = host.Lines(l => l.Contains("spilled usage events", StringComparison.Ordinal)).Count;
        result.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"the tool counted {counted} successful executions; GetUsage counts {totals.Succeeded} succeeded of {totals.Executions}; PostgreSQL was down {downFor.TotalSeconds:0.#} s; writer recovered: {recovered > 0}; spill replayed: {replayed > 0} ({host.OutputLines} host log lines kept)"));
        result.Summary["events_missing"] = eventsMissing;
        result.Summary["events_duplicated"] = eventsDuplicated;
        result.Phases.Add(phase);
        // Readiness turning unhealthy while PostgreSQL is down is the one error the outage must cause.
        RunContext.CollectHostErrors(host, result, l => l.Contains("HealthChecks.DefaultHealthCheckService[103]", StringComparison.Ordinal));
        return result;
    }
}
