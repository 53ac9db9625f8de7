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
