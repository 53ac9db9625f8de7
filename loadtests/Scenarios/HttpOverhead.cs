using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using MonkeyCoder.LoadTests.Clients;
using MonkeyCoder.LoadTests.Echo;
using MonkeyCoder.LoadTests.Engine;
using MonkeyCoder.LoadTests.Fakes;
using MonkeyCoder.LoadTests.Hosts;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>
/// The rows of issue 20's table through a real HTTP provider: the in-process OpenAI-compatible fake
/// (<see cref="FakeProvider"/>, no delays) as the upstream, so the gateway's own cost is what
/// differs from the direct call (client → fake) measured in the same run. Rows: OpenAI JSON on the
/// REST host at 1 and N connections (embedded, then on the test PostgreSQL + Redis when
/// <c>scripts/services.sh</c> is up), OpenAI SSE at N, and gRPC Execute on the Service (the AOT
/// binary with --service-bin) against the bare gRPC echo at N. Thresholds are ratios against the
/// baseline of the same run (full profile only; smoke checks errors), so a slow or busy machine
/// moves both sides alike and a regression of the gateway fails the run.
/// </summary>
public sealed class HttpOverhead : IScenario
{
    /// <summary>Connections of the "16" rows (the issue's table).</summary>
    private const int Connections = 16;

    // The issue's targets as ratios of the nginx-mock baseline it measured (52,814 JSON and 45,594 SSE req/s at 16):
    // 12,000 → 0.23, 8,000 with PostgreSQL + Redis → 0.15, SSE 8,000 → 0.175; gRPC ≥ 0.4 of the echo.
    private const double JsonRatio = 0.23;
    private const double JsonStoresRatio = 0.15;
    private const double SseRatio = 0.175;
    private const double GrpcRatio = 0.4;

    /// <summary>Added latency at 1 connection (ours − direct), ms: the issue's ≤ 0.3 ms p50 (with the stores) and ≤ 1 ms p99.</summary>
    private const double AddedP50Ms = 0.3;
    private const double AddedP99Ms = 1.0;

    public string Name => "http-overhead";

    public string Description => "Issue 20's rows through an HTTP provider (in-process OpenAI-compatible fake, no delays): OpenAI JSON at 1 and 16 connections (embedded and on PostgreSQL + Redis), SSE at 16, gRPC Execute at 16 against the bare echo; ratios against the direct call measured in the same run.";

    public async Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken)
    {
        var profile = context.Profile;
        var full = profile.Name == "full";
        var result = new ScenarioResult { Name = Name, Description = Description };
        var warmUp = full ? profile.OverheadWarmUp : TimeSpan.FromSeconds(1);
        var duration = full ? profile.OverheadDuration : TimeSpan.FromSeconds(2);
        var one = new KeepConcurrent(1, duration, TimeSpan.Zero) { WarmUp = warmUp };
        var many = new KeepConcurrent(Connections, duration, TimeSpan.Zero) { WarmUp = warmUp };
        var errors = new[] { Threshold.ErrorRateBelow(0.1) };

        await using var fake = await FakeProvider.StartAsync(FakeProvider.OpenAiProtocol, cancellationToken);
        fake.FirstTokenDelay = TimeSpan.Zero;
        fake.FrameDelay = TimeSpan.Zero;
        result.Targets.Add($"upstream: in-process OpenAI-compatible fake {fake.BaseUrl} (no delays)");
        // A catalog model of the OpenAI provider (the fake answers any model); --openai-model names a simulated one by default.
        const string model = "gpt-4o-mini";
        var sequence = 0;
        string Body(bool stream) => RestCalls.ChatBody(model, $"write a python function number {Interlocked.Increment(ref sequence)} that validates an email address", 64, stream);

        using var direct = RestCalls.Client(fake.Root);
        direct.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", fake.ApiKey);
        const string directPath = "/v1/chat/completions";
        const string oursPath = "/openai/v1/chat/completions";

        var upstream = new Dictionary<string, string>
        {
            ["SIMULATED_ENABLED"] = "false",
            ["CACHE_ENABLED"] = "false",
            ["OPENAI_API_KEY"] = fake.ApiKey,
            ["OPENAI_BASE_URL"] = fake.BaseUrl.ToString(),
            ["RATE_LIMIT_REQUESTS_PER_MINUTE"] = "10000000",
            ["RATE_LIMIT_TOKENS_PER_MINUTE"] = "2000000000",
            ["PROBE_INTERVAL_SECONDS"] = "3600",
        };

        // The direct baselines.
        var directOne = await Phase(result, context, "direct-json-1", "client → fake, JSON, 1 connection", one,
            (ctx, ct) => RestCalls.ChatAsync(direct, directPath, Body(false), ct), errors, cancellationToken);
        var directMany = await Phase(result, context, $"direct-json-{Connections}", $"client → fake, JSON, {Connections} connections", many,
            (ctx, ct) => RestCalls.ChatAsync(direct, directPath, Body(false), ct), errors, cancellationToken);
        var directSse = await Phase(result, context, $"direct-sse-{Connections}", $"client → fake, SSE, {Connections} connections", many,
            (ctx, ct) => RestCalls.ChatStreamAsync(direct, directPath, Body(true), ctx, ct), errors, cancellationToken);

        // The REST host, embedded defaults.
        await using (var gateway = await context.StartGatewayAsync(upstream, cancellationToken))
        {
            result.Targets.Add(gateway is null ? $"--rest-target {context.Options.RestTarget}" : $"{gateway.Kind}: {gateway.Command} ({RunContext.Describe(upstream)})");
            using var http = RestCalls.Client(context.RestAddress(gateway));
            var oursOne = await Phase(result, context, "ours-json-1", "REST host (embedded) → fake, JSON, 1 connection", one,
                (ctx, ct) => RestCalls.ChatAsync(http, oursPath, Body(false), ct), errors, cancellationToken);
            var oursMany = await Phase(result, context, $"ours-json-{Connections}", $"REST host (embedded) → fake, JSON, {Connections} connections", many,
                (ctx, ct) => RestCalls.ChatAsync(http, oursPath, Body(false), ct), errors, cancellationToken);
            var oursSse = await Phase(result, context, $"ours-sse-{Connections}", $"REST host (embedded) → fake, SSE, {Connections} connections", many,
                (ctx, ct) => RestCalls.ChatStreamAsync(http, oursPath, Body(true), ctx, ct), errors, cancellationToken);
            Added(result, full, "json_1_embedded", oursOne, directOne, p50Limit: null);
            Ratio(result, full, "json_16_embedded", oursMany, directMany, JsonRatio);
            Ratio(result, full, "sse_16_embedded", oursSse, directSse, SseRatio);
            RunContext.CollectHostErrors(gateway, result);
        }

        // The REST host on the test PostgreSQL + Redis (the production configuration).
        var postgres = PostgresControl.FromEnvironment();
        var redis = RedisControl.FromEnvironment();
        if (postgres is null || redis is null || context.Options.RestTarget is not null)
        {
            result.Notes.Add($"not measured: the rows with PostgreSQL + Redis need `source scripts/services.sh start` (MONKEY_TEST_*) and a host this tool starts{(context.Options.RequireEndpoints ? "; fails the run (--require-endpoints)" : "")}");
            result.Thresholds.Add(new ThresholdResult("PostgreSQL and Redis are available", 0, ">=", 1, "", !context.Options.RequireEndpoints));
        }
        else
        {
            var stores = new Dictionary<string, string>(upstream) { ["DATABASE_URL"] = postgres.DatabaseUrl, ["REDIS_URL"] = redis.Url };
            await using var gateway = await context.StartGatewayAsync(stores, cancellationToken);
            result.Targets.Add($"{gateway!.Kind}: {gateway.Command} (as above, with PostgreSQL {postgres.DatabaseUrl} and Redis {redis.Url})");
            using var http = RestCalls.Client(context.RestAddress(gateway));
            var oursOne = await Phase(result, context, "ours-stores-json-1", "REST host (PostgreSQL + Redis) → fake, JSON, 1 connection", one,
                (ctx, ct) => RestCalls.ChatAsync(http, oursPath, Body(false), ct), errors, cancellationToken);
            var oursMany = await Phase(result, context, $"ours-stores-json-{Connections}", $"REST host (PostgreSQL + Redis) → fake, JSON, {Connections} connections", many,
                (ctx, ct) => RestCalls.ChatAsync(http, oursPath, Body(false), ct), errors, cancellationToken);
            Added(result, full, "json_1_stores", oursOne, directOne, p50Limit: AddedP50Ms);
            Ratio(result, full, "json_16_stores", oursMany, directMany, JsonStoresRatio);
            RunContext.CollectHostErrors(gateway, result);
        }

        // gRPC Execute on the Service (OpenAI provider → the fake) against the bare echo.
        await using (var service = await context.StartServiceAsync(upstream, cancellationToken))
        await using (var echo = await context.StartEchoAsync(cancellationToken))
        {
            result.Targets.Add(service is null ? $"--target {context.Options.Target}" : $"{service.Kind}: {service.Command} ({RunContext.Describe(upstream)})");
            var request = GrpcCalls.Request("write a python function that validates an email address", 64, V1.TaskType.Chat);
            var channels = Math.Max(2, ChannelPool.ChannelsFor(Connections));
            long responseBytes = 0, responses = 0;
            PhaseResult ours;
            using (var pool = new ChannelPool(context.ServiceAddress(service), channels))
            {
                ours = await Phase(result, context, $"ours-grpc-execute-{Connections}", $"Service Execute → fake, {Connections} callers", many,
                    (ctx, ct) => GrpcCalls.ExecuteAsync(pool, request, ctx, ct, r =>
                    {
                        Interlocked.Add(ref responseBytes, r.CalculateSize());
                        Interlocked.Increment(ref responses);
                    }), errors, cancellationToken);
            }

            var echoRequest = new EchoRequest
            {
                Payload = ByteString.CopyFrom(new byte[request.CalculateSize()]),
                ResponseSize = responses == 0 ? 1024 : (int)(responseBytes / responses),
            };
            PhaseResult bare;
            using (var pool = new ChannelPool(echo.Address, channels))
            {
                bare = await Phase(result, context, $"echo-{Connections}", $"bare gRPC echo (same sizes), {Connections} callers", many,
                    (ctx, ct) => EchoAsync(pool, echoRequest, ct), errors, cancellationToken);
            }

            Ratio(result, full, "grpc_execute_16", ours, bare, GrpcRatio);
            RunContext.CollectHostErrors(service, result);
        }

        if (!full)
        {
            result.Notes.Add("smoke: errors only; the ratio thresholds apply in the full profile");
        }

        return result;
    }

    private static async Task<PhaseResult> Phase(ScenarioResult result, RunContext context, string name, string description, LoadSimulation load,
        LoadCall call, Threshold[] thresholds, CancellationToken cancellationToken)
    {
        var phase = await PhaseRunner.RunAsync(result.Name, name, description, load, call, thresholds, context.DrainLimit, cancellationToken);
        result.Phases.Add(phase);
        return phase;
    }

    /// <summary>Throughput of <paramref name="ours"/> over <paramref name="baseline"/>; a threshold (full profile) at <paramref name="limit"/>.</summary>
    private static void Ratio(ScenarioResult result, bool full, string key, PhaseResult ours, PhaseResult baseline, double limit)
    {
        double? ratio = baseline.Throughput > 0 ? ours.Throughput / baseline.Throughput : null;
        if (ratio is { } r)
        {
            result.Summary[$"ratio_{key}"] = Math.Round(r, 4);
        }

        if (full)
        {
            ours.Thresholds.Add(new ThresholdResult($"throughput / {baseline.Phase} >= {limit.ToString(CultureInfo.InvariantCulture)}", ratio is null ? null : Math.Round(ratio.Value, 4), ">=", limit, "", ratio >= limit));
        }
    }

    /// <summary>Added latency at one connection (ours − direct, ms): p99 ≤ 1 ms always (full profile), p50 when <paramref name="p50Limit"/> is set.</summary>
    private static void Added(ScenarioResult result, bool full, string key, PhaseResult ours, PhaseResult direct, double? p50Limit)
    {
        var p50 = ours.Percentile("latency", "p50") - direct.Percentile("latency", "p50");
        var p99 = ours.Percentile("latency", "p99") - direct.Percentile("latency", "p99");
        if (p50 is { } a)
        {
            result.Summary[$"added_p50_ms_{key}"] = Math.Round(a, 3);
        }

        if (p99 is { } b)
        {
            result.Summary[$"added_p99_ms_{key}"] = Math.Round(b, 3);
        }

        if (!full)
        {
            return;
        }

        if (p50Limit is { } limit)
        {
            ours.Thresholds.Add(new ThresholdResult($"added p50 (vs {direct.Phase}) <= {limit.ToString(CultureInfo.InvariantCulture)} ms", p50 is null ? null : Math.Round(p50.Value, 3), "<=", limit, "ms", p50 <= limit));
        }

        ours.Thresholds.Add(new ThresholdResult($"added p99 (vs {direct.Phase}) <= {AddedP99Ms.ToString(CultureInfo.InvariantCulture)} ms", p99 is null ? null : Math.Round(p99.Value, 3), "<=", AddedP99Ms, "ms", p99 <= AddedP99Ms));
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
