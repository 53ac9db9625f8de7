using Google.Protobuf;
using Grpc.Core;
using MonkeyCoder.LoadTests.Clients;
using MonkeyCoder.LoadTests.Echo;
using MonkeyCoder.LoadTests.Engine;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>
/// What the service itself costs: the simulated provider at zero latency (no first-token delay,
/// instant generation), Execute at 1 connection × 1 caller and at saturation, side by side with a
/// bare gRPC echo (same Kestrel/HTTP/2 stack, no work, request and response of the same sizes)
/// measured in the same run on the same machine: the physical floor. Reported as ratios.
/// </summary>
public sealed class Overhead : IScenario
{
    public string Name => "overhead";

    public string Description => "Zero-latency simulated provider: the service's own latency p50/p99 at 1 connection and throughput at saturation, against a bare gRPC echo in the same run (ratio ours/echo).";

    public async Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken)
    {
        var profile = context.Profile;
        var result = new ScenarioResult { Name = Name, Description = Description };
        var environment = new Dictionary<string, string>
        {
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "0",
            ["SIMULATED_TOKENS_PER_SECOND"] = "0",
        };
        await using var host = await context.StartServiceAsync(environment, cancellationToken);
        await using var echo = await context.StartEchoAsync(cancellationToken);
        result.Targets.Add(host is null ? $"--target {context.Options.Target}" : $"{host.Kind}: {host.Command} ({RunContext.Describe(environment)})");
        result.Targets.Add($"{echo.Kind}: {echo.Command}");

        var request = GrpcCalls.Request("implement a function that parses the config file and validates every entry in python", 256);
        long responseBytes = 0, responses = 0;
        void Size(V1.ExecuteResponse r)
        {
            Interlocked.Add(ref responseBytes, r.CalculateSize());
            Interlocked.Increment(ref responses);
        }

        var thresholds = new Threshold[] { Threshold.ErrorRateBelow(0.1) };
        var one = new KeepConcurrent(1, profile.OverheadDuration, TimeSpan.Zero) { WarmUp = profile.OverheadWarmUp };
        var saturated = new KeepConcurrent(profile.OverheadConcurrency, profile.OverheadDuration, TimeSpan.FromSeconds(1)) { WarmUp = profile.OverheadWarmUp };
        var channels = Math.Max(2, ChannelPool.ChannelsFor(profile.OverheadConcurrency));

        // 1 connection, 1 caller: pure latency, no queueing.
        using (var single = new ChannelPool(context.ServiceAddress(host), 1, multipleConnections: false))
        {
            result.Phases.Add(await PhaseRunner.RunAsync(Name, "ours-1-connection", "Execute, one caller on one HTTP/2 connection",
                one, (ctx, ct) => GrpcCalls.ExecuteAsync(single, request, ctx, ct, Size), thresholds, context.DrainLimit, cancellationToken));
        }

        var echoRequest = new EchoRequest
        {
            Payload = ByteString.CopyFrom(new byte[request.CalculateSize()]),
            ResponseSize = responses == 0 ? 1024 : (int)(responseBytes / responses),
        };
        result.Notes.Add($"echo request {echoRequest.CalculateSize()} B, response {echoRequest.ResponseSize} B: the sizes of our ExecuteRequest and mean ExecuteResponse");
        using (var single = new ChannelPool(echo.Address, 1, multipleConnections: false))
        {
            result.Phases.Add(await PhaseRunner.RunAsync(Name, "echo-1-connection", "bare gRPC echo, one caller on one HTTP/2 connection",
                one, (ctx, ct) => EchoAsync(single, echoRequest, ct), thresholds, context.DrainLimit, cancellationToken));
        }

        var memory = new RssSampler(host);
        using (var pool = new ChannelPool(context.ServiceAddress(host), channels))
        {
            var phase = await PhaseRunner.RunAsync(Name, $"ours-saturation-{profile.OverheadConcurrency}", $"Execute, {profile.OverheadConcurrency} callers over {channels} connections",
                saturated, (ctx, ct) => GrpcCalls.ExecuteAsync(pool, request, ctx, ct), thresholds, context.DrainLimit, cancellationToken, _ => memory.Sample());
            memory.Into(phase);
            result.Phases.Add(phase);
        }

        // Route runs validation and routing but no provider: separates the pipeline's own cost
        // from the simulated provider's text synthesis (tokenizer) that Execute includes.
        using (var pool = new ChannelPool(context.ServiceAddress(host), channels))
        {
            result.Phases.Add(await PhaseRunner.RunAsync(Name, $"route-saturation-{profile.OverheadConcurrency}", $"Route (validate + plan, no provider call), {profile.OverheadConcurrency} callers over {channels} connections",
                saturated, (ctx, ct) => RouteAsync(pool, request, ct), thresholds, context.DrainLimit, cancellationToken));
        }

        using (var pool = new ChannelPool(echo.Address, channels))
        {
            result.Phases.Add(await PhaseRunner.RunAsync(Name, $"echo-saturation-{profile.OverheadConcurrency}", $"bare gRPC echo, {profile.OverheadConcurrency} callers over {channels} connections",
                saturated, (ctx, ct) => EchoAsync(pool, echoRequest, ct), thresholds, context.DrainLimit, cancellationToken));
        }

        Summarize(result);
        RunContext.CollectHostErrors(host, result);
        return result;
    }

    private static void Summarize(ScenarioResult result)
    {
        var (ours, echo, oursSat, routeSat, echoSat) = (result.Phases[0], result.Phases[1], result.Phases[2], result.Phases[3], result.Phases[4]);
        double? P(PhaseResult r, string metric, string p) => r.Percentile(metric, p);
        void Put(string key, double? value)
        {
            if (value is { } v && !double.IsNaN(v) && !double.IsInfinity(v))
            {
                result.Summary[key] = Math.Round(v, 3);
            }
        }

        Put("ours_p50_ms", P(ours, "latency", "p50"));
        Put("ours_p99_ms", P(ours, "latency", "p99"));
        Put("echo_p50_ms", P(echo, "latency", "p50"));
        Put("echo_p99_ms", P(echo, "latency", "p99"));
        Put("added_p50_ms", P(ours, "latency", "p50") - P(echo, "latency", "p50"));
        Put("added_p99_ms", P(ours, "latency", "p99") - P(echo, "latency", "p99"));
        Put("ratio_p50_ours_over_echo", P(ours, "latency", "p50") / P(echo, "latency", "p50"));
        Put("ratio_p99_ours_over_echo", P(ours, "latency", "p99") / P(echo, "latency", "p99"));
        Put("server_reported_overhead_p50_ms", P(ours, "server_overhead", "p50"));
        Put("server_reported_overhead_p99_ms", P(ours, "server_overhead", "p99"));
        Put("ours_saturation_rps", oursSat.Throughput);
        Put("echo_saturation_rps", echoSat.Throughput);
        Put("ratio_throughput_ours_over_echo", echoSat.Throughput == 0 ? null : oursSat.Throughput / echoSat.Throughput);
        Put("route_saturation_rps", routeSat.Throughput);
        Put("ratio_throughput_route_over_echo", echoSat.Throughput == 0 ? null : routeSat.Throughput / echoSat.Throughput);
        Put("ours_saturation_p99_ms", P(oursSat, "latency", "p99"));
        Put("echo_saturation_p99_ms", P(echoSat, "latency", "p99"));
    }

    private static async Task<CallResult> RouteAsync(ChannelPool pool, V1.ExecuteRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var response = await new V1.RouterService.RouterServiceClient(pool.Next()).RouteAsync(request, deadline: DateTime.UtcNow + GrpcCalls.Deadline, cancellationToken: cancellationToken);
            return response.Plan?.Candidates.Count > 0 ? CallResult.Success : CallResult.Fail("EMPTY_PLAN", "a plan without candidates");
        }
        catch (RpcException ex)
        {
            return CallResult.Fail(ex.StatusCode.ToString(), ex.Status.Detail);
        }
    }

    private static async Task<CallResult> EchoAsync(ChannelPool pool, EchoRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var response = await new EchoService.EchoServiceClient(pool.Next()).EchoAsync(request, deadline: DateTime.UtcNow + GrpcCalls.Deadline, cancellationToken: cancellationToken);
            return response.Payload.Length == request.ResponseSize ? CallResult.Success : CallResult.Fail("SHORT_ECHO", $"{response.Payload.Length} of {request.ResponseSize} bytes");
        }
        catch (RpcException ex)
        {
            return CallResult.Fail(ex.StatusCode.ToString(), ex.Status.Detail);
        }
    }
}
