using Grpc.Core;
using MonkeyCoder.EndToEnd.Tests.Fakes;
using MonkeyCoder.EndToEnd.Tests.Infrastructure;
using MonkeyCoder.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpStatus = OpenTelemetry.Proto.Trace.V1.Status;

namespace MonkeyCoder.EndToEnd.Tests.Observability;

/// <summary>
/// OpenTelemetry tracing against an OTLP receiver started by the test: a server span per call that
/// continues the caller's traceparent, a client span per provider attempt (provider, model,
/// outcome, tokens; no prompt text), the attempt's trace context sent to the provider (unless
/// TRACE_PROPAGATE_TO_PROVIDERS=false), and the trace id on the call's log lines.
/// </summary>
public sealed class OtlpTracingTests
{
    private static Dictionary<string, string> Environment(OtlpReceiver otlp, FakeOpenAiServer openai) => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.Endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        ["SIMULATED_ENABLED"] = "false",
        ["OPENAI_API_KEY"] = openai.ApiKey,
        ["OPENAI_BASE_URL"] = openai.BaseUrl.ToString(),
        ["MonkeyCoder__Execution__RetryBaseDelayMs"] = "20",
        ["MonkeyCoder__Execution__RetryMaxDelayMs"] = "50",
        // Production logs are JSON lines with their scopes: the trace id of the call's lines is visible.
        ["ENVIRONMENT"] = "production",
        ["JWT_SECRET_KEY"] = "e2e-production-signing-key-0123456789abcdef",
    };

    [Fact]
    public async Task Execute_WithCallerTraceparent_ExportsCallAndAttemptSpansAndPropagatesToProvider()
    {
        using var otlp = new OtlpReceiver();
        await using var openai = await FakeOpenAiServer.StartNewAsync();
        await using var host = await HostProcess.StartServiceAsync(Environment(otlp, openai));
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        var router = new RouterService.RouterServiceClient(channel);

        // One failed attempt (retried) and one that answers: two attempt spans under the call span.
        openai.Reset();
        openai.Enqueue(FakeResponse.ServerError(503), FakeResponse.Success("print('hi')", inputTokens: 21, outputTokens: 9));
        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var callerSpanId = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64(1, long.MaxValue)));
        var prompt = "secret prompt " + Guid.NewGuid().ToString("N");
        var answer = await router.ExecuteAsync(
            new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = prompt, MaxTokens = 32 },
            new Metadata { { "traceparent", $"00-{traceId}-{callerSpanId}-01" } },
            DateTime.UtcNow.AddSeconds(30));
        Assert.Equal("openai", answer.Provider);

        bool Complete(IReadOnlyList<(string Service, Span Span)> spans) =>
            spans.Any(s => s.Span.Name == "RouterService/Execute" && OtlpSpans.Hex(s.Span.TraceId) == traceId)
            && spans.Count(s => s.Span.Name == "provider.attempt" && OtlpSpans.Hex(s.Span.TraceId) == traceId) >= 2;
        Assert.True(await otlp.WaitForAsync(Complete, TimeSpan.FromSeconds(20)),
            "spans received: " + string.Join(", ", otlp.Spans.Select(s => $"{s.Span.Name} {OtlpSpans.Hex(s.Span.TraceId)}")));

        var spans = otlp.Spans.Where(s => OtlpSpans.Hex(s.Span.TraceId) == traceId).ToList();
        var (service, call) = Assert.Single(spans, s => s.Span.Name == "RouterService/Execute");
        Assert.Equal("monkey-coder", service);
        Assert.Equal(Span.Types.SpanKind.Server, call.Kind);
        Assert.Equal(callerSpanId, OtlpSpans.Hex(call.ParentSpanId));
        Assert.Equal("OK", call.Attribute("rpc.grpc.status_code"));
        Assert.Equal("openai", call.Attribute("monkeycoder.provider"));
        Assert.Equal(OtlpStatus.Types.StatusCode.Ok, call.Status.Code);

        var attempts = spans.Where(s => s.Span.Name == "provider.attempt").Select(s => s.Span).OrderBy(s => s.StartTimeUnixNano).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a =>
        {
            Assert.Equal(Span.Types.SpanKind.Client, a.Kind);
            Assert.Equal(call.SpanId, a.ParentSpanId);
            Assert.Equal("openai", a.Attribute("monkeycoder.provider"));
            Assert.Equal("openai/" + answer.Model, a.Attribute("monkeycoder.model"));
            Assert.Equal(answer.Model, a.Attribute("gen_ai.request.model"));
        });
        Assert.NotEqual("ok", attempts[0].Attribute("monkeycoder.outcome"));
        Assert.Equal(OtlpStatus.Types.StatusCode.Error, attempts[0].Status.Code);
        Assert.Equal("ok", attempts[1].Attribute("monkeycoder.outcome"));
        Assert.Equal("21", attempts[1].Attribute("gen_ai.usage.input_tokens"));
        Assert.Equal("9", attempts[1].Attribute("gen_ai.usage.output_tokens"));

        // Never prompt text in a span.
        Assert.All(spans, s => Assert.DoesNotContain(s.Span.Attributes, a => a.Value.StringValue.Contains(prompt, StringComparison.Ordinal)));

        // The provider saw each attempt's own span as the parent of its request.
        var requests = openai.Requests;
        Assert.Equal(2, requests.Count);
        for (var i = 0; i < 2; i++)
        {
            Assert.True(requests[i].Headers.TryGetValue("traceparent", out var sent), "no traceparent sent to the provider");
            Assert.Equal($"00-{traceId}-{OtlpSpans.Hex(attempts[i].SpanId)}-01", sent);
        }

        // The call's log lines carry its trace id (the failed attempt's warning is one of them).
        Assert.Contains(host.Output, l => l.Contains(traceId, StringComparison.Ordinal) && l.Contains("\"TraceId\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Execute_PropagationToProvidersOff_ProviderSeesNoTraceContextButSpansExported()
    {
        using var otlp = new OtlpReceiver();
        await using var openai = await FakeOpenAiServer.StartNewAsync();
        var environment = Environment(otlp, openai);
        environment["TRACE_PROPAGATE_TO_PROVIDERS"] = "false";
        await using var host = await HostProcess.StartServiceAsync(environment);
        using var channel = ServiceFixture.AuthenticatedChannel(host.Address, ServiceFixture.AdminKey);
        openai.Reset();

        await new RouterService.RouterServiceClient(channel).ExecuteAsync(
            new ExecuteRequest { TaskType = TaskType.CodeGeneration, Prompt = "no propagation", MaxTokens = 16 }, deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.True(await otlp.WaitForAsync(s => s.Any(x => x.Span.Name == "provider.attempt"), TimeSpan.FromSeconds(20)), "no attempt span exported");
        var request = Assert.Single(openai.Requests);
        Assert.False(request.Headers.ContainsKey("traceparent"), "traceparent sent although TRACE_PROPAGATE_TO_PROVIDERS=false");
    }
}
