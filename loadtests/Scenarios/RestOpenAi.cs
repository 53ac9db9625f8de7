using System.Net;
using MonkeyCoder.LoadTests.Clients;
using MonkeyCoder.LoadTests.Engine;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>
/// REST load on the JSON host: the OpenAI-compatible chat completions (plain and streaming) at
/// /v1/chat/completions and /openai/v1/chat/completions, and the transcoded /v1/execute and
/// /v1/execute:stream. A chat endpoint that answers 404 is reported as "endpoint not available
/// (404)": never silently passed (with --require-endpoints it fails the run).
/// </summary>
public sealed class RestOpenAi : IScenario
{
    public string Name => "rest-openai";

    public string Description => "REST host: OpenAI-compatible chat completions (plain, streaming) and the transcoded /v1/execute and /v1/execute:stream under load.";

    public async Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken)
    {
        var profile = context.Profile;
        var result = new ScenarioResult { Name = Name, Description = Description };
        var environment = new Dictionary<string, string>
        {
            ["SIMULATED_FIRST_TOKEN_DELAY_MS"] = "100",
            ["SIMULATED_TOKENS_PER_SECOND"] = "400",
        };
        await using var host = await context.StartGatewayAsync(environment, cancellationToken);
        result.Targets.Add(host is null ? $"--rest-target {context.Options.RestTarget}" : $"{host.Kind}: {host.Command} ({RunContext.Describe(environment)})");
        using var http = RestCalls.Client(context.RestAddress(host));
        var load = new KeepConcurrent(profile.RestConcurrency, profile.RestDuration, TimeSpan.FromSeconds(1)) { WarmUp = profile.RestWarmUp };
        Threshold[] thresholds = [Threshold.ErrorRateBelow(0.1), Threshold.LatencyBelow("latency", "p95", 2000)];
        long sequence = 0;
        string Prompt() => $"write a python function number {Interlocked.Increment(ref sequence)} that validates an email address";

        foreach (var path in new[] { "/v1/chat/completions", "/openai/v1/chat/completions" })
        {
            var status = await RestCalls.ProbeAsync(http, path, RestCalls.ChatBody(context.Options.OpenAiModel, "probe", 16, stream: false), cancellationToken);
            foreach (var stream in new[] { false, true })
            {
                var name = $"POST {path}{(stream ? " stream" : "")}";
                if (status is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
                {
                    var missing = new PhaseResult { Scenario = Name, Phase = name, Description = "OpenAI-compatible chat completions", Load = load.Describe() };
                    missing.Unavailable = $"endpoint not available ({(int)status})";
                    missing.Thresholds.Add(new ThresholdResult("endpoint exists", (int)status, "!=", 404, "", !context.Options.RequireEndpoints));
                    result.Phases.Add(missing);
                    if (stream)
                    {
                        continue;
                    }

                    result.Notes.Add($"{path}: endpoint not available ({(int)status}) — nothing measured{(context.Options.RequireEndpoints ? "; fails the run (--require-endpoints)" : "; reported, not counted as a pass (run with --require-endpoints to fail)")}");
                    continue;
                }

                result.Phases.Add(await PhaseRunner.RunAsync(Name, name, $"OpenAI-compatible chat completion{(stream ? ", streamed (SSE)" : "")}; probe answered {(int)status}",
                    load,
                    (ctx, ct) => stream
                        ? RestCalls.ChatStreamAsync(http, path, RestCalls.ChatBody(context.Options.OpenAiModel, Prompt(), 128, true), ctx, ct)
                        : RestCalls.ChatAsync(http, path, RestCalls.ChatBody(context.Options.OpenAiModel, Prompt(), 128, false), ct),
                    thresholds, context.DrainLimit, cancellationToken));
            }
        }

        result.Phases.Add(await PhaseRunner.RunAsync(Name, "POST /v1/execute", "transcoded Execute (JSON)",
            load, (ctx, ct) => RestCalls.ExecuteAsync(http, RestCalls.ExecuteBody(Prompt(), 128), ctx, ct),
            thresholds, context.DrainLimit, cancellationToken));
        result.Phases.Add(await PhaseRunner.RunAsync(Name, "POST /v1/execute:stream", "transcoded StreamExecute (newline-delimited JSON)",
            load, (ctx, ct) => RestCalls.ExecuteStreamAsync(http, RestCalls.ExecuteBody(Prompt(), 128), ctx, ct),
            thresholds, context.DrainLimit, cancellationToken));

        RunContext.CollectHostErrors(host, result);
        return result;
    }
}
