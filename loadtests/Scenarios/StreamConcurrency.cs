using System.Globalization;
using MonkeyCoder.LoadTests.Clients;
using MonkeyCoder.LoadTests.Engine;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>
/// StreamExecute with N concurrent open streams on one host (1,000 then 10,000 in the full
/// profile). Streams are slow on purpose (the simulated provider at a few tokens a second), so
/// they are all open at once: the peak of streams between `started` and their end is measured,
/// not assumed. Reports time to first token, inter-token gaps, completion, errors and host RSS.
/// </summary>
public sealed class StreamConcurrency : IScenario
{
    public string Name => "stream-concurrency";

    public string Description => "StreamExecute with N concurrent open streams on one host: TTFT, inter-token gaps, completion p50/p95/p99, errors, host RSS.";

    public async Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken)
    {
        var profile = context.Profile;
        var result = new ScenarioResult { Name = Name, Description = Description };
        var environment = new Dictionary<string, string>
        {
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "500",
            ["SIMULATED_TOKENS_PER_SECOND"] = profile.StreamTokensPerSecond.ToString(CultureInfo.InvariantCulture),
            // Kestrel says why it closes a connection (e.g. a client reading under the minimum data rate) at Information.
            ["Logging__LogLevel__Microsoft.AspNetCore.Server.Kestrel"] = "Information",
        };
        await using var host = await context.StartServiceAsync(environment, cancellationToken);
        result.Targets.Add(host is null ? $"--target {context.Options.Target}" : $"{host.Kind}: {host.Command} ({RunContext.Describe(environment)})");
        var idle = host?.Memory();
        if (idle is { } m)
        {
            result.Summary["host_rss_idle_mb"] = m.RssMb;
        }

        var max = profile.StreamCounts.Max();
        using var pool = new ChannelPool(context.ServiceAddress(host), ChannelPool.ChannelsFor(max));
        long sequence = 0;

        // Warm-up: connections of every channel, JIT of the client, the host's first calls.
        var warm = await PhaseRunner.RunAsync(Name, "warm-up", "warm-up (not in the results)",
            new Burst(Math.Min(max, pool.Count * 4), TimeSpan.FromSeconds(1)),
            (ctx, ct) => GrpcCalls.StreamAsync(pool, Request(Interlocked.Increment(ref sequence), 8), ctx, null, ct),
            [], context.DrainLimit, cancellationToken);
        result.Notes.Add($"warm-up: {warm.Ok} streams ok, {warm.Failed} failed (not in the results){string.Concat(warm.ErrorSamples.Select(e => $"; {e.Key}: {e.Value}"))}");

        foreach (var count in profile.StreamCounts)
        {
            var open = new Gauge();
            var memory = new RssSampler(host);
            var phase = await PhaseRunner.RunAsync(Name, $"{count}-streams",
                $"{count} StreamExecute calls started over {profile.StreamRampUp.TotalSeconds:0} s, each ~{profile.StreamMaxTokens} tokens at {profile.StreamTokensPerSecond} tokens/s after a 500 ms first token",
                new Burst(count, profile.StreamRampUp),
                (ctx, ct) => GrpcCalls.StreamAsync(pool, Request(Interlocked.Increment(ref sequence), profile.StreamMaxTokens), ctx, open, ct),
                [],
                StreamLength(profile) + context.DrainLimit, cancellationToken, _ => memory.Sample());
            memory.Into(phase);
            phase.Values["peak_open_streams"] = open.Peak;
            phase.Values["target_streams"] = count;
            phase.Values["channels"] = pool.Count;
            var thresholds = new List<Threshold>
            {
                Threshold.ErrorRateBelow(0.1),
                Threshold.AtLeast("peak open streams", "peak_open_streams", Math.Floor(count * 0.95)),
            };
            if (count <= 1_000)
            {
                thresholds.Add(Threshold.LatencyBelow("ttft", "p95", 2000));
            }

            phase.Check(thresholds);
            if (host is not null)
            {
                var closes = host.Lines(l => l.Contains("minimum data rate", StringComparison.OrdinalIgnoreCase) || l.Contains("connection error", StringComparison.OrdinalIgnoreCase) || l.Contains("aborted", StringComparison.OrdinalIgnoreCase));
                phase.Values["host_connection_close_lines"] = closes.Count;
                foreach (var line in closes.Select(l => l.Trim()).Distinct().Take(3))
                {
                    phase.Notes.Add($"host: {line}");
                }
            }

            result.Phases.Add(phase);
        }

        RunContext.CollectHostErrors(host, result);
        return result;
    }

    /// <summary>How long one stream takes when nothing is slow: the first token, then the tokens at the set pace.</summary>
    private static TimeSpan StreamLength(Profile profile) =>
        TimeSpan.FromMilliseconds(500) + TimeSpan.FromSeconds(profile.StreamMaxTokens / (double)Math.Max(1, profile.StreamTokensPerSecond));

    private static V1.ExecuteRequest Request(long n, int maxTokens) =>
        GrpcCalls.Request($"explain backpressure in streaming systems, part {n}", maxTokens, V1.TaskType.Chat);
}
