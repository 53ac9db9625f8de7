using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Observability;

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
