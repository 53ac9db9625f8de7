using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Auth;

/// <summary>Identity settings. Section <c>MonkeyCoder:Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "MonkeyCoder:Auth";

    /// <summary><c>AUTH_ENABLED</c>: every non-anonymous RPC needs a credential. Defaults to true; cannot be false in production.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// <c>JWT_SECRET_KEY</c>: HS256 signing key, at least 32 characters. Required in production;
    /// elsewhere a random per-process key is used (tokens then work on one replica only).
    /// </summary>
    [StringLength(4096, MinimumLength = 32, ErrorMessage = "JWT_SECRET_KEY (MonkeyCoder:Auth:JwtSecretKey) must be 32 to 4096 characters.")]
    public string? JwtSecretKey { get; set; }

    [Required]
    public string Issuer { get; set; } = "monkey-coder";

    [Required]
    public string Audience { get; set; } = "monkey-coder";

    /// <summary>Access token lifetime. Defaults to 15 min.</summary>
    [Range(1, 1440, ErrorMessage = "MonkeyCoder:Auth:AccessTokenMinutes must be between 1 and 1440.")]
    public int AccessTokenMinutes { get; set; } = 15;

    /// <summary>Refresh token lifetime. Defaults to 14 days.</summary>
    [Range(1, 365, ErrorMessage = "MonkeyCoder:Auth:RefreshTokenDays must be between 1 and 365.")]
    public int RefreshTokenDays { get; set; } = 14;

    /// <summary>PBKDF2-SHA256 iterations for new password hashes. Defaults to 600,000 (OWASP 2023).</summary>
    [Range(600_000, 10_000_000, ErrorMessage = "MonkeyCoder:Auth:PasswordIterations must be between 600000 and 10000000.")]
    public int PasswordIterations { get; set; } = 600_000;

    /// <summary>Failed logins in a row before the account locks. Defaults to 5.</summary>
    [Range(1, 100, ErrorMessage = "MonkeyCoder:Auth:MaxFailedLogins must be between 1 and 100.")]
    public int MaxFailedLogins { get; set; } = 5;

    /// <summary>First lockout; doubles with each further failure up to 15 min. Defaults to 30 s.</summary>
    [Range(1, 3600, ErrorMessage = "MonkeyCoder:Auth:LockoutSeconds must be between 1 and 3600.")]
    public int LockoutSeconds { get; set; } = 30;

    /// <summary><c>AUTH_DEVICE_INTERVAL_SECONDS</c>: minimum device polling interval (RFC 8628). Defaults to 5 s.</summary>
    [Range(1, 60, ErrorMessage = "AUTH_DEVICE_INTERVAL_SECONDS (MonkeyCoder:Auth:DeviceIntervalSeconds) must be between 1 and 60.")]
    public int DeviceIntervalSeconds { get; set; } = 5;

    /// <summary>Device and user code lifetime. Defaults to 600 s.</summary>
    [Range(10, 3600, ErrorMessage = "MonkeyCoder:Auth:DeviceCodeSeconds must be between 10 and 3600.")]
    public int DeviceCodeSeconds { get; set; } = 600;

    /// <summary><c>AUTH_VERIFICATION_URI</c>: the page where a user enters a device's user code.</summary>
    [Required]
    public string VerificationUri { get; set; } = "http://localhost:8080/device";

    /// <summary>
    /// <c>AUTH_ALLOW_SIGN_UP</c>: anyone may create a developer account. Unset = open, except when
    /// ENVIRONMENT is production, where operators opt in with true.
    /// </summary>
    public bool? AllowSignUp { get; set; }

    /// <summary>
    /// <c>MONKEY_CODER_ADMIN_API_KEY</c>: an admin API key to accept (format <c>mk_</c> + at least 29
    /// more characters). When unset and no admin key exists, one is generated and printed once.
    /// </summary>
    [RegularExpression("^mk_[A-Za-z0-9_-]{29,200}$", ErrorMessage = "MONKEY_CODER_ADMIN_API_KEY (MonkeyCoder:Auth:BootstrapAdminApiKey) must be 'mk_' followed by 29–200 characters from [A-Za-z0-9_-].")]
    public string? BootstrapAdminApiKey { get; set; }

    /// <summary>Email of the bootstrap admin user. Defaults to admin@localhost.</summary>
    [Required]
    public string BootstrapAdminEmail { get; set; } = "admin@localhost";

    /// <summary>How long a validated API key is trusted before it is looked up again (revocation on other replicas takes this long). Defaults to 5 s.</summary>
    [Range(0, 300, ErrorMessage = "MonkeyCoder:Auth:ApiKeyCacheSeconds must be between 0 and 300.")]
    public int ApiKeyCacheSeconds { get; set; } = 5;

    /// <summary>
    /// While the identity store (PostgreSQL) is unreachable, an API key validated within this many
    /// seconds keeps working (stale-if-error); 0 turns it off. Revocations made during an outage take
    /// effect when the store is back. Defaults to 300 s.
    /// </summary>
    [Range(0, 86_400, ErrorMessage = "MonkeyCoder:Auth:ApiKeyStaleIfErrorSeconds must be between 0 and 86400.")]
    public int ApiKeyStaleIfErrorSeconds { get; set; } = 300;

    /// <summary>
    /// <c>AUTH_SESSION_MAX_DAYS</c>: absolute lifetime of a sign-in session (a refresh-token family):
    /// refreshing never extends it past this many days after sign-in. Defaults to 30 days.
    /// </summary>
    [Range(1, 365, ErrorMessage = "AUTH_SESSION_MAX_DAYS (MonkeyCoder:Auth:SessionMaxDays) must be between 1 and 365.")]
    public int SessionMaxDays { get; set; } = 30;

    /// <summary>
    /// Password hashes (PBKDF2, ~0.3 s of a core each) computed at once; further sign-ins wait, then
    /// are refused with RESOURCE_EXHAUSTED, so a flood cannot take every CPU. 0 = half the processors (at least 1). Defaults to 0.
    /// </summary>
    [Range(0, 256, ErrorMessage = "MonkeyCoder:Auth:PasswordHashConcurrency must be between 0 and 256.")]
    public int PasswordHashConcurrency { get; set; }

    /// <summary>How long a sign-in waits for a hashing slot before RESOURCE_EXHAUSTED. Defaults to 5 s.</summary>
    [Range(0, 60, ErrorMessage = "MonkeyCoder:Auth:PasswordHashQueueSeconds must be between 0 and 60.")]
    public int PasswordHashQueueSeconds { get; set; } = 5;

    /// <summary>
    /// <c>AUTH_BOOTSTRAP_KEY_FILE</c>: in production a generated bootstrap admin key is written to this
    /// file (mode 0600) and its path logged, never printed. Defaults to <c>bootstrap-admin-key</c> in the working directory.
    /// </summary>
    [Required]
    public string BootstrapKeyFile { get; set; } = "bootstrap-admin-key";

    /// <summary>
    /// <c>AUTH_EXPIRED_RETENTION_DAYS</c>: device authorizations and refresh tokens are deleted this many
    /// days after they expire. 0 = at once. Defaults to 7.
    /// </summary>
    [Range(0, 3650, ErrorMessage = "AUTH_EXPIRED_RETENTION_DAYS (MonkeyCoder:Auth:ExpiredRetentionDays) must be between 0 and 3650.")]
    public int ExpiredRetentionDays { get; set; } = 7;

    /// <summary><c>AUDIT_RETENTION_DAYS</c>: audit events older than this are deleted; 0 keeps them forever. Defaults to 365.</summary>
    [Range(0, 36_500, ErrorMessage = "AUDIT_RETENTION_DAYS (MonkeyCoder:Auth:AuditRetentionDays) must be between 0 and 36500.")]
    public int AuditRetentionDays { get; set; } = 365;

    /// <summary>How often expired identity state is purged. Defaults to 60 min.</summary>
    [Range(1, 1440, ErrorMessage = "MonkeyCoder:Auth:PurgeIntervalMinutes must be between 1 and 1440.")]
    public int PurgeIntervalMinutes { get; set; } = 60;
}

[OptionsValidator]
internal sealed partial class AuthOptionsValidator : IValidateOptions<AuthOptions>;
