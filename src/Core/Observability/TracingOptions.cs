namespace MonkeyCoder.Core.Observability;

/// <summary>
/// OpenTelemetry tracing. Section <c>MonkeyCoder:Tracing</c>. Spans are exported over OTLP when
/// the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (with <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>,
/// <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>OTEL_SERVICE_NAME</c>, <c>OTEL_BSP_*</c> read by the SDK).
/// </summary>
public sealed class TracingOptions
{
    public const string Section = "MonkeyCoder:Tracing";

    /// <summary><c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, read here only to decide whether tracing is on.</summary>
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// <c>TRACE_PROPAGATE_TO_PROVIDERS</c>: send <c>traceparent</c>/<c>tracestate</c> to the AI
    /// providers with each attempt. Defaults to true; false keeps trace ids inside (a third-party
    /// provider then sees none).
    /// </summary>
    public bool PropagateToProviders { get; set; } = true;
}
