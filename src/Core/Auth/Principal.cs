using Grpc.Core;

namespace MonkeyCoder.Core.Auth;

/// <summary>
/// Limits attached to a credential; <c>null</c> means the configured default. For a key,
/// <see cref="RequestsPerMinute"/> and <see cref="TokensPerMinute"/> are already the lower of the
/// key's and its user's; <see cref="ExpiresAt"/> is the key's expiry (children may not outlive it);
/// <see cref="AllowedModels"/> lists the models/providers the key may use (null = any).
/// </summary>
internal sealed record CredentialLimits(int? RequestsPerMinute, int? TokensPerMinute, double? KeyMonthlyBudgetUsd, double? UserMonthlyBudgetUsd,
    DateTimeOffset? ExpiresAt = null, IReadOnlyList<string>? AllowedModels = null)
{
    public static readonly CredentialLimits Defaults = new(null, null, null, null);
}

/// <summary>
/// An authenticated caller. Other features read it with <see cref="PrincipalAccessor.GetPrincipal"/>:
/// <see cref="Id"/> (the user id) and <see cref="ApiKeyId"/> identify who to bill and limit.
/// Never holds a secret.
/// </summary>
internal sealed record Principal(
    string Id,
    string Email,
    string DisplayName,
    string Role,
    IReadOnlySet<string> Scopes,
    string AuthMethod,
    string? ApiKeyId,
    CredentialLimits Limits)
{
    public const string ApiKeyMethod = "api_key";
    public const string JwtMethod = "jwt";

    public bool IsAdmin => Scopes.Contains(Auth.Scopes.Admin);

    /// <summary>The sign-in session (refresh-token family) of an access token; null for API keys.</summary>
    public string? SessionId { get; init; }

    /// <summary>Admin implies every scope.</summary>
    public bool Has(string scope) => scope.Length == 0 || Scopes.Contains(scope) || IsAdmin;

    /// <summary>The rate-limit and budget identity: the key when authenticated by key, else the user.</summary>
    public string LimitKey => ApiKeyId is null ? "user:" + Id : "key:" + ApiKeyId;
}

/// <summary>Where the auth interceptor leaves the principal for the rest of the call.</summary>
internal static class PrincipalAccessor
{
    private const string Key = "monkeycoder.principal";

    /// <summary>The caller, or <c>null</c> for anonymous RPCs (health, sign-in) and when auth is disabled.</summary>
    public static Principal? GetPrincipal(this ServerCallContext context) =>
        context.UserState.TryGetValue(Key, out var value) ? value as Principal : null;

    /// <summary>The caller of an RPC that requires authentication (the interceptor guarantees one).</summary>
    public static Principal RequirePrincipal(this ServerCallContext context) =>
        context.GetPrincipal() ?? throw Api.RpcErrors.Unauthenticated(AuthReasons.CredentialMissing, "This call needs a credential.");

    /// <summary>Keeps the principal for the call and puts its id (never a credential) in the call's log scope.</summary>
    internal static void SetPrincipal(this ServerCallContext context, Principal principal)
    {
        context.UserState[Key] = principal;
        if (Observability.RequestTelemetry.Current is { } telemetry)
        {
            telemetry.PrincipalId = principal.Id;
        }
    }
}

/// <summary>ErrorInfo reasons of authentication and authorization failures.</summary>
internal static class AuthReasons
{
    public const string CredentialMissing = "CREDENTIAL_MISSING";
    public const string CredentialInvalid = "CREDENTIAL_INVALID";
    public const string CredentialExpired = "CREDENTIAL_EXPIRED";
    public const string CredentialRevoked = "CREDENTIAL_REVOKED";
    public const string ScopeMissing = "SCOPE_MISSING";
    public const string InvalidCredentials = "INVALID_CREDENTIALS";
    public const string RefreshTokenInvalid = "REFRESH_TOKEN_INVALID";
    public const string RefreshTokenReused = "REFRESH_TOKEN_REUSED";
    public const string SignUpRejected = "SIGN_UP_REJECTED";
    public const string SignUpDisabled = "SIGN_UP_DISABLED";
    public const string DeviceCodeInvalid = "DEVICE_CODE_INVALID";
    public const string UserCodeInvalid = "USER_CODE_INVALID";
    public const string UserRequired = "USER_REQUIRED";
    public const string ApiKeyNotFound = "API_KEY_NOT_FOUND";
    public const string UserDisabled = "USER_DISABLED";
    public const string LimitAboveCreator = "LIMIT_ABOVE_CREATOR";
    public const string ApprovalNotAllowed = "DEVICE_APPROVAL_NOT_ALLOWED";
    public const string UserNotFound = "USER_NOT_FOUND";
}
