using System.Globalization;
using MonkeyCoder.LoadTests.Clients;
using MonkeyCoder.LoadTests.Engine;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>
/// Identical cacheable requests (same prompt, task type, temperature 0) at a fixed arrival rate.
/// Counts cache_hit=true/false from the responses as they are: until the response cache exists
/// every answer is a miss, and the report says so. Latency of hits and misses is kept apart.
/// </summary>
public sealed class CacheHit : IScenario
{
    public string Name => "cache-hit";

    public string Description => "Identical cacheable Execute requests (open model): cache_hit=true/false counts and the latency of hits vs misses.";

    public async Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken)
    {
        var profile = context.Profile;
        var result = new ScenarioResult { Name = Name, Description = Description };
        var environment = new Dictionary<string, string>
        {
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "200",
            ["SIMULATED_TOKENS_PER_SECOND"] = "0",
        };
        await using var host = await context.StartServiceAsync(environment, cancellationToken);
        result.Targets.Add(host is null ? $"--target {context.Options.Target}" : $"{host.Kind}: {host.Command} ({RunContext.Describe(environment)})");
        using var pool = new ChannelPool(context.ServiceAddress(host), 2);
        var request = GrpcCalls.Request("write a python function that reverses a linked list", 200, V1.TaskType.CodeGeneration, temperature: 0);

        var phase = await PhaseRunner.RunAsync(Name, $"identical-{profile.CacheRate:0}rps",
            "the same Execute request, injected at a fixed rate",
            new InjectPerSecond(profile.CacheRate, profile.CacheDuration, 5_000) { WarmUp = profile.CacheWarmUp },
            (ctx, ct) => GrpcCalls.ExecuteAsync(pool, request, ctx, ct, r => ctx.Record(r.CacheHit ? "latency_hit_server_total" : "latency_miss_server_total", r.Timing?.Total?.ToTimeSpan() ?? TimeSpan.Zero)),
            [Threshold.ErrorRateBelow(0.1)],
            context.DrainLimit, cancellationToken);
        var hits = phase.Counters.GetValueOrDefault("cache_hit=true");
        var misses = phase.Counters.GetValueOrDefault("cache_hit=false");
        phase.Values["cache_hits"] = hits;
        phase.Values["cache_misses"] = misses;
        phase.Values["cache_hit_ratio"] = hits + misses == 0 ? 0 : Math.Round(hits / (double)(hits + misses), 4);
        if (hits == 0)
        {
            phase.Notes.Add("cache_hit=false on every response: no response cache answered (not built yet, or disabled). Latency is that of the provider path.");
        }

        if (context.Options.MinCacheHitRatio > 0)
        {
            phase.Check([Threshold.AtLeast("cache hit ratio", "cache_hit_ratio", context.Options.MinCacheHitRatio)]);
        }

        result.Summary["cache_hits"] = hits;
        result.Summary["cache_misses"] = misses;
        result.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"cache_hit=true {hits}, cache_hit=false {misses}"));
        result.Phases.Add(phase);
        RunContext.CollectHostErrors(host, result);
        return result;
    }
}
