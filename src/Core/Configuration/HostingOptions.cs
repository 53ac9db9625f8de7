using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Configuration;

/// <summary>Where a host listens and what it calls its environment. Section <c>MonkeyCoder:Hosting</c>.</summary>
public sealed class HostingOptions
{
    public const string Section = "MonkeyCoder:Hosting";

    /// <summary><c>ENVIRONMENT</c>: development, staging or production. Defaults to development.</summary>
    [Required]
    [RegularExpression("^(development|staging|production|test)$", ErrorMessage = "ENVIRONMENT (MonkeyCoder:Hosting:Environment) must be development, staging, production or test.")]
    public string Environment { get; set; } = "development";

    /// <summary><c>PORT</c>: the listening port. 0 means the host's default (Service 50051, Gateway 8080).</summary>
    [Range(0, 65535, ErrorMessage = "PORT (MonkeyCoder:Hosting:Port) must be between 0 and 65535.")]
    public int Port { get; set; }

    /// <summary><c>BIND_ADDRESS</c>: the listening address. Defaults to 0.0.0.0 (all interfaces).</summary>
    [Required]
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary><c>DRAIN_SECONDS</c>: time given to in-flight calls, streams and drain hooks on shutdown. Defaults to 30 s.</summary>
    [Range(0, 3600, ErrorMessage = "DRAIN_SECONDS (MonkeyCoder:Hosting:DrainSeconds) must be between 0 and 3600.")]
    public int DrainSeconds { get; set; } = 30;
}

[OptionsValidator]
internal sealed partial class HostingOptionsValidator : IValidateOptions<HostingOptions>;
