using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Sessions;

/// <summary>Sessions. Section <c>MonkeyCoder:Sessions</c>.</summary>
public sealed class SessionOptions
{
    public const string Section = "MonkeyCoder:Sessions";

    /// <summary><c>SESSION_TTL_HOURS</c>: a session expires this long after its last turn. Defaults to 168 h (7 days).</summary>
    [Range(1, 24 * 365, ErrorMessage = "SESSION_TTL_HOURS (MonkeyCoder:Sessions:TtlHours) must be between 1 and 8760.")]
    public int TtlHours { get; set; } = 168;

    /// <summary>Turns kept per session (oldest dropped first). Defaults to 200.</summary>
    [Range(2, 10_000, ErrorMessage = "MonkeyCoder:Sessions:MaxTurns must be between 2 and 10000.")]
    public int MaxTurns { get; set; } = 200;
}

[OptionsValidator]
internal sealed partial class SessionOptionsValidator : IValidateOptions<SessionOptions>;
