using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Observability;

/// <summary>Sentry error reporting. Section <c>MonkeyCoder:Sentry</c>. Off while the DSN is empty.</summary>
public sealed class SentrySettings
{
    public const string Section = "MonkeyCoder:Sentry";

    /// <summary><c>SENTRY_DSN</c>. Empty (the default) turns Sentry off.</summary>
    public string? Dsn { get; set; }

    /// <summary><c>SENTRY_RELEASE</c>: the release tag. Defaults to "monkey-coder@" + the Core assembly version.</summary>
    public string? Release { get; set; }

    /// <summary><c>SENTRY_SAMPLE_RATE</c>: share of error events sent. Defaults to 1 (all).</summary>
    [Range(0.0, 1.0, ErrorMessage = "SENTRY_SAMPLE_RATE (MonkeyCoder:Sentry:SampleRate) must be between 0 and 1.")]
    public double SampleRate { get; set; } = 1.0;

    /// <summary><c>SENTRY_TRACES_SAMPLE_RATE</c>: share of RPCs traced as Sentry transactions. Defaults to 0 (none).</summary>
    [Range(0.0, 1.0, ErrorMessage = "SENTRY_TRACES_SAMPLE_RATE (MonkeyCoder:Sentry:TracesSampleRate) must be between 0 and 1.")]
    public double TracesSampleRate { get; set; }
}

[OptionsValidator]
internal sealed partial class SentrySettingsValidator : IValidateOptions<SentrySettings>;

/// <summary>Prometheus metrics. Section <c>MonkeyCoder:Metrics</c>.</summary>
public sealed class MetricsOptions
{
    public const string Section = "MonkeyCoder:Metrics";

    /// <summary>
    /// <c>METRICS_PORT</c>: the HTTP/1.1 port of <c>/metrics</c>, never served on the public port: the
    /// Service's (default 9464, with <c>/healthz</c>, <c>/readyz</c>: its main port is HTTP/2 only) and
    /// the REST host's (default 9465). 0 turns the extra listener off and serves <c>/metrics</c> on the main port.
    /// </summary>
    [Range(0, 65535, ErrorMessage = "METRICS_PORT (MonkeyCoder:Metrics:Port) must be between 0 and 65535.")]
    public int Port { get; set; } = 9464;
}

[OptionsValidator]
internal sealed partial class MetricsOptionsValidator : IValidateOptions<MetricsOptions>;

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

/// <summary>Provider health state-change alerts. Section <c>MonkeyCoder:Alerts</c>.</summary>
public sealed class AlertOptions
{
    public const string Section = "MonkeyCoder:Alerts";

    /// <summary><c>ALERT_WEBHOOK_URL</c>: Slack-compatible incoming webhook (POST {"text": …}). Empty turns alerts off.</summary>
    [Url(ErrorMessage = "ALERT_WEBHOOK_URL (MonkeyCoder:Alerts:WebhookUrl) must be an absolute http(s) URL.")]
    public string? WebhookUrl { get; set; }

    /// <summary>
    /// Least time between two alerts for one provider, so a flapping provider does not flood the
    /// channel; changes inside the window are counted, and when it ends a follow-up alert is sent if the state differs from the last alert's. Defaults to 300 s.
    /// </summary>
    [Range(0, 86_400, ErrorMessage = "MonkeyCoder:Alerts:MinIntervalSeconds must be between 0 and 86400.")]
    public int MinIntervalSeconds { get; set; } = 300;
}

[OptionsValidator]
internal sealed partial class AlertOptionsValidator : IValidateOptions<AlertOptions>;

/// <summary>Active provider probes. Section <c>MonkeyCoder:Probes</c>.</summary>
public sealed class ProbeOptions
{
    public const string Section = "MonkeyCoder:Probes";

    /// <summary><c>PROBE_INTERVAL_SECONDS</c>: time between two probe rounds. Defaults to 30 s.</summary>
    [Range(0.1, 86_400, ErrorMessage = "PROBE_INTERVAL_SECONDS (MonkeyCoder:Probes:IntervalSeconds) must be between 0.1 and 86400.")]
    public double IntervalSeconds { get; set; } = 30;

    /// <summary>Deadline of one probe. Defaults to 5 s.</summary>
    [Range(0.1, 600, ErrorMessage = "MonkeyCoder:Probes:TimeoutSeconds must be between 0.1 and 600.")]
    public double TimeoutSeconds { get; set; } = 5;

    /// <summary>Consecutive failed probes before a provider is unhealthy. Defaults to 2.</summary>
    [Range(1, 100, ErrorMessage = "MonkeyCoder:Probes:UnhealthyAfter must be between 1 and 100.")]
    public int UnhealthyAfter { get; set; } = 2;

    /// <summary>
    /// Optional plain HTTP probe per provider: <c>MonkeyCoder:Probes:Urls:&lt;provider&gt;</c> = a URL
    /// that answers 2xx while the provider is up (e.g. a gateway's model list). Wins over any
    /// <see cref="IProviderProbe"/> for that provider. Never put credentials in it.
    /// </summary>
    public Dictionary<string, string> Urls { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

[OptionsValidator]
internal sealed partial class ProbeOptionsValidator : IValidateOptions<ProbeOptions>;

/// <summary>
/// Test-only diagnostics. Section <c>MonkeyCoder:Diagnostics</c>. <see cref="EnableFaultInjection"/>
/// is refused at start when ENVIRONMENT is production.
/// </summary>
public sealed class DiagnosticsOptions
{
    public const string Section = "MonkeyCoder:Diagnostics";

    /// <summary>
    /// When true (and ENVIRONMENT is not production), an Execute/StreamExecute/Route request whose
    /// prompt contains <see cref="FaultInjectionInterceptor.Marker"/> fails with an unexpected
    /// exception, to test the INTERNAL error path end to end (Sentry, logs, metrics). Defaults to false.
    /// </summary>
    public bool EnableFaultInjection { get; set; }
}
