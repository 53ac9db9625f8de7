using System.Diagnostics;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Observability;

/// <summary>
/// OpenTelemetry spans, on the <c>MonkeyCoder</c> activity source: one server span per call
/// (<see cref="StartCall"/>, ended by the telemetry interceptor) and one client span per provider
/// attempt (<see cref="StartAttempt"/>), current while the provider request is sent so its
/// <c>traceparent</c> names the attempt. Tags are bounded and never carry prompt text, files or
/// keys: RPC, status, provider, model, outcome and token counts. Without a listener (no
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>) every Start returns null and costs nothing.
/// </summary>
internal static class MonkeyCoderTracing
{
    public const string SourceName = "MonkeyCoder";

    /// <summary>Name of the provider attempt spans.</summary>
    public const string AttemptSpanName = "provider.attempt";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Starts the call's server span. Its parent is the caller's W3C trace context (gRPC metadata
    /// or HTTP header <c>traceparent</c>/<c>tracestate</c>) when it sent a valid one; otherwise the
    /// span starts a new trace (never a child of the host's unexported request activity).
    /// </summary>
    public static Activity? StartCall(string rpc, string? traceparent, string? tracestate)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var parent = traceparent is { Length: > 0 } && ActivityContext.TryParse(traceparent, tracestate, isRemote: true, out var remote) ? remote : default;
        Activity.Current = null;
        var span = Source.StartActivity(rpc, ActivityKind.Server, parent);
        if (span is not null)
        {
            var slash = rpc.IndexOf('/', StringComparison.Ordinal);
            span.SetTag("rpc.system", "grpc");
            span.SetTag("rpc.service", slash > 0 ? "monkeycoder.v1." + rpc[..slash] : rpc);
            span.SetTag("rpc.method", slash > 0 ? rpc[(slash + 1)..] : rpc);
        }

        return span;
    }

    /// <summary>Ends the call span with its gRPC status, and the provider/model that answered.</summary>
    public static void EndCall(Activity? span, string status, string? provider, string? model)
    {
        if (span is null)
        {
            return;
        }

        span.SetTag("rpc.grpc.status_code", status);
        if (provider is not null)
        {
            span.SetTag("monkeycoder.provider", provider);
            span.SetTag("monkeycoder.model", model);
        }

        span.SetStatus(status == "OK" ? ActivityStatusCode.Ok : ActivityStatusCode.Error, status == "OK" ? null : status);
        span.Stop();
    }

    /// <summary>Starts one provider attempt's client span (the caller disposes it, or a committed stream does).</summary>
    public static Activity? StartAttempt(CatalogModel model)
    {
        var span = Source.StartActivity(AttemptSpanName, ActivityKind.Client);
        if (span is not null)
        {
            span.SetTag("gen_ai.system", model.Provider);
            span.SetTag("gen_ai.request.model", model.Id);
            span.SetTag("monkeycoder.provider", model.Provider);
            span.SetTag("monkeycoder.model", model.Key);
        }

        return span;
    }

    /// <summary>Puts an attempt's outcome and token counts on its span.</summary>
    public static void RecordAttempt(Activity? span, AttemptRecord attempt)
    {
        if (span is null)
        {
            return;
        }

        span.SetTag("monkeycoder.outcome", attempt.Outcome);
        span.SetTag("gen_ai.usage.input_tokens", attempt.Usage.InputTokens);
        span.SetTag("gen_ai.usage.output_tokens", attempt.Usage.OutputTokens);
        if (attempt.TimeToFirstToken is { } ttft)
        {
            span.SetTag("monkeycoder.time_to_first_token_ms", Math.Round(ttft.TotalMilliseconds, 1));
        }

        span.SetStatus(attempt.Succeeded || attempt.Outcome is AttemptOutcomes.Cancelled or AttemptOutcomes.Discarded ? ActivityStatusCode.Ok : ActivityStatusCode.Error,
            attempt.Succeeded ? null : attempt.Outcome);
    }

    /// <summary>The current trace id (32 hex digits), for logs and Sentry events; null outside a span.</summary>
    public static string? CurrentTraceId() => Activity.Current is { } current && current.TraceId != default ? current.TraceId.ToHexString() : null;
}
