using Grpc.Core;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Auth;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// Authenticates every call (API key in <c>authorization: Bearer mk_…</c> or <c>x-api-key</c>, or a
/// JWT bearer token) and checks the scope <see cref="Scopes.ByMethod"/> lists for its operation (RPCs
/// and the HTTP edges' operations in one table). No credential or a bad one → UNAUTHENTICATED; a valid
/// one without the scope → PERMISSION_DENIED. The principal goes to <see cref="CallContext.Authenticated"/>.
/// </summary>
internal sealed class AuthenticationStep(ApiKeys apiKeys, AccessTokens accessTokens, IOptions<AuthOptions> options) : ICallStep
{
    private readonly bool _enabled = options.Value.Enabled;

    public async ValueTask RunAsync(CallContext call, CallNext next)
    {
        await AuthorizeAsync(call);
        await next(call);
    }

    private async Task AuthorizeAsync(CallContext call)
    {
        var required = Scopes.Required(call.Operation);
        var credential = Credential(call.Edge);
        if (required is null || !_enabled)
        {
            // Anonymous operations still learn who calls when a credential is present (e.g. for auditing).
            if (required is null && credential is not null && _enabled)
            {
                var (optional, _) = await AuthenticateAsync(credential, call.CancellationToken);
                if (optional is not null)
                {
                    call.Authenticated(optional);
                }
            }

            return;
        }

        var (principal, failure) = await AuthenticateAsync(credential, call.CancellationToken);
        if (principal is null)
        {
            throw failure!;
        }

        if (!principal.Has(required))
        {
            throw RpcErrors.Create(StatusCode.PermissionDenied, AuthReasons.ScopeMissing,
                $"This credential lacks the '{required}' scope that {call.OperationName} needs.",
                new Dictionary<string, string> { ["required_scope"] = required, ["method"] = call.OperationName });
        }

        call.Authenticated(principal);
    }

    /// <summary>A presented credential (API key or access token) → its principal, or the UNAUTHENTICATED error.</summary>
    internal async Task<(Principal? Principal, RpcException? Failure)> AuthenticateAsync(string? credential, CancellationToken cancellationToken)
    {
        if (credential is null)
        {
            return (null, RpcErrors.Unauthenticated(AuthReasons.CredentialMissing,
                "This call needs a credential: 'authorization: Bearer <API key or access token>' or 'x-api-key: <API key>'."));
        }

        if (credential.StartsWith(Secrets.ApiKeyPrefix, StringComparison.Ordinal))
        {
            var (principal, reason) = await apiKeys.AuthenticateAsync(credential, cancellationToken);
            return principal is not null ? (principal, null) : (null, Refused(reason!, "API key"));
        }

        var (claims, failure) = await accessTokens.ValidateAsync(credential);
        if (claims is null)
        {
            return (null, Refused(failure == AccessTokenFailure.Expired ? AuthReasons.CredentialExpired : AuthReasons.CredentialInvalid, "access token"));
        }

        // A session narrower than its role (a device approved by a narrower credential) keeps only its own scopes.
        var roleScopes = Scopes.ForRole(claims.Role);
        var scopes = claims.Scopes is null ? roleScopes : roleScopes.Intersect(claims.Scopes, StringComparer.Ordinal).ToHashSet(StringComparer.Ordinal);
        var principalFromToken = new Principal(claims.UserId, claims.Email, claims.DisplayName, claims.Role, scopes,
            Principal.JwtMethod, null, new CredentialLimits(claims.UserRequestsPerMinute, claims.UserTokensPerMinute, null, claims.UserMonthlyBudgetUsd)) { SessionId = claims.SessionFamily };
        return (principalFromToken, null);
    }

    private static RpcException Refused(string reason, string what) => RpcErrors.Unauthenticated(reason, reason switch
    {
        AuthReasons.CredentialExpired => $"The {what} has expired.",
        AuthReasons.CredentialRevoked => $"The {what} has been revoked.",
        AuthReasons.UserDisabled => $"The user of this {what} has been disabled by an administrator.",
        _ => $"The {what} is not valid.",
    });

    /// <summary>The presented credential, or null. <c>authorization: Bearer X</c> wins over <c>x-api-key</c>.</summary>
    private static string? Credential(ICallEdge edge)
    {
        // A present authorization header wins even when empty (the edge decides what "present" means).
        var authorization = edge.Header("authorization")?.Trim();
        if (authorization is not null)
        {
            return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : authorization;
        }

        var apiKey = edge.Header("x-api-key")?.Trim();
        return string.IsNullOrEmpty(apiKey) ? null : apiKey;
    }
}
