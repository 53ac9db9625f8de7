using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// Limits on the calls anyone can make without a credential (sign-up, login, refresh, the device
/// flow and its page), counted per client address and per account email. Section <c>MonkeyCoder:AnonymousLimits</c>.
/// </summary>
public sealed class AnonymousLimitOptions
{
    public const string Section = "MonkeyCoder:AnonymousLimits";

    /// <summary>Defaults to true; also off when RATE_LIMIT_ENABLED=false.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// <c>AUTH_RATE_LIMIT_PER_IP</c>: calls per client address per RPC in any 60 s window. The address
    /// is the connection's, or X-Forwarded-For when the connection comes from a trusted proxy
    /// (TRUSTED_PROXIES / TRUSTED_NETWORKS on the REST host). Defaults to 60.
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "AUTH_RATE_LIMIT_PER_IP (MonkeyCoder:AnonymousLimits:PerClientPerMinute) must be between 1 and 1000000.")]
    public int PerClientPerMinute { get; set; } = 60;

    /// <summary><c>AUTH_RATE_LIMIT_PER_ACCOUNT</c>: sign-up and login calls per account email per RPC in any 60 s window. Defaults to 10.</summary>
    [Range(1, 1_000_000, ErrorMessage = "AUTH_RATE_LIMIT_PER_ACCOUNT (MonkeyCoder:AnonymousLimits:PerAccountPerMinute) must be between 1 and 1000000.")]
    public int PerAccountPerMinute { get; set; } = 10;
}

[OptionsValidator]
internal sealed partial class AnonymousLimitOptionsValidator : IValidateOptions<AnonymousLimitOptions>;
