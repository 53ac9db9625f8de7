using System.Globalization;
using MonkeyCoder.LoadTests.Clients;
using MonkeyCoder.LoadTests.Engine;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>
/// The launch criteria: Execute through the whole pipeline (validation, routing, execution,
/// mapping) with the simulated provider answering after ~500 ms; p95 under 2 s at N concurrent
/// callers and errors under 0.1%. Then the same at a fixed arrival rate (open model).
/// </summary>
public sealed class ExecuteUnary : IScenario
{
    public string Name => "execute-unary";

    public string Description => "Execute through the full pipeline, simulated provider at ~500 ms: p95 < 2 s and errors < 0.1% at N concurrent (closed model), then at a fixed arrival rate (open model).";

    public async Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken)
    {
        var profile = context.Profile;
        var result = new ScenarioResult { Name = Name, Description = Description };
        var environment = new Dictionary<string, string>
        {
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = profile.UnaryProviderDelayMs.ToString(CultureInfo.InvariantCulture),
            ["SIMULATED_TOKENS_PER_SECOND"] = "0",
        };
        await using var host = await context.StartServiceAsync(environment, cancellationToken);
        result.Targets.Add(host is null ? $"--target {context.Options.Target}" : $"{host.Kind}: {host.Command} ({RunContext.Describe(environment)})");
        using var pool = new ChannelPool(context.ServiceAddress(host), ChannelPool.ChannelsFor(profile.UnaryConcurrency));

        // Distinct prompts (as real traffic), so a response cache cannot serve this scenario.
        long sequence = 0;
        LoadCall call = (ctx, ct) =>
        {
            var n = Interlocked.Increment(ref sequence);
            var request = GrpcCalls.Request($"implement task {n}: parse the config file and validate every entry in python", 256);
            return GrpcCalls.ExecuteAsync(pool, request, ctx, ct);
        };

        var memory = new RssSampler(host);
        var closed = await PhaseRunner.RunAsync(Name, $"closed-{profile.UnaryConcurrency}",
            $"{profile.UnaryConcurrency} concurrent Execute calls (launch criterion: p95 < 2 s, errors < 0.1%)",
            new KeepConcurrent(profile.UnaryConcurrency, profile.UnaryDuration, profile.UnaryWarmUp) { WarmUp = profile.UnaryWarmUp },
            call,
            [Threshold.LatencyBelow("latency", "p95", 2000), Threshold.ErrorRateBelow(0.1)],
            context.DrainLimit, cancellationToken, _ => memory.Sample());
        memory.Into(closed);
        closed.Values["channels"] = pool.Count;
        result.Phases.Add(closed);

        memory = new RssSampler(host);
        var open = await PhaseRunner.RunAsync(Name, $"open-{profile.UnaryRate:0}rps",
            $"Execute injected at {profile.UnaryRate:0}/s regardless of responses (latency from the scheduled start)",
            new InjectPerSecond(profile.UnaryRate, profile.UnaryOpenDuration, profile.UnaryConcurrency * 10) { WarmUp = TimeSpan.FromSeconds(2) },
            call,
            [Threshold.LatencyBelow("latency", "p95", 2000), Threshold.ErrorRateBelow(0.1)],
            context.DrainLimit, cancellationToken, _ => memory.Sample());
        memory.Into(open);
        result.Phases.Add(open);

        RunContext.CollectHostErrors(host, result);
        return result;
    }
}
