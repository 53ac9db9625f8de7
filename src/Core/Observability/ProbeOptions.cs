using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Observability;

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
