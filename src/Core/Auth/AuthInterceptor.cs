using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Api;

namespace MonkeyCoder.Core.Auth;

/// <summary>
/// Authenticates every RPC (API key in <c>authorization: Bearer mk_…</c> or <c>x-api-key</c>, or a
/// JWT bearer token) and checks the scope <see cref="Scopes.ByMethod"/> lists for it. No credential
/// or a bad one → UNAUTHENTICATED; a valid one without the scope → PERMISSION_DENIED.
/// </summary>
internal sealed class AuthInterceptor(ApiKeys apiKeys, AccessTokens accessTokens, IOptions<AuthOptions> options) : Interceptor
{
    private readonly bool _enabled = options.Value.Enabled;

    /// <summary>AUTH_ENABLED.</summary>
    public bool Enabled => _enabled;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        return await continuation(request, context);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        await continuation(request, responseStream, context);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        return await continuation(requestStream, context);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        await continuation(requestStream, responseStream, context);
    }

    private async Task AuthorizeAsync(ServerCallContext context)
    {
        var required = Scopes.Required(context.Method);
        if (required is null || !_enabled)
        {
            // Anonymous RPCs still learn who calls when a credential is present (e.g. for auditing).
            if (required is null && Credential(context) is not null && _enabled)
            {
                var (optional, _) = await AuthenticateAsync(context);
                if (optional is not null)
                {
                    context.SetPrincipal(optional);
                }
            }

            return;
        }

        var (principal, failure) = await AuthenticateAsync(context);
        if (principal is null)
        {
            throw failure!;
        }

        if (!principal.Has(required))
        {
            throw RpcErrors.Create(StatusCode.PermissionDenied, AuthReasons.ScopeMissing,
                $"This credential lacks the '{required}' scope that {context.Method} needs.",
                new Dictionary<string, string> { ["required_scope"] = required, ["method"] = context.Method });
        }

        context.SetPrincipal(principal);
    }

    private Task<(Principal? Principal, RpcException? Failure)> AuthenticateAsync(ServerCallContext context) =>
        AuthenticateAsync(Credential(context), context.CancellationToken);

    /// <summary>
    /// A presented credential (API key or access token) → its principal, or the UNAUTHENTICATED error.
    /// Public so the HTTP edge (OpenAI-compatible endpoints) accepts and refuses exactly what gRPC does.
    /// </summary>
    public async Task<(Principal? Principal, RpcException? Failure)> AuthenticateAsync(string? credential, CancellationToken cancellationToken)
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
    private static string? Credential(ServerCallContext context)
    {
        string? apiKeyHeader = null;
        foreach (var entry in context.RequestHeaders)
        {
            if (entry.IsBinary)
            {
                continue;
            }

            if (entry.Key == "authorization")
            {
                var value = entry.Value.Trim();
                return value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value[7..].Trim() : value;
            }

            if (entry.Key == "x-api-key")
            {
                apiKeyHeader = entry.Value.Trim();
            }
        }

        return string.IsNullOrEmpty(apiKeyHeader) ? null : apiKeyHeader;
    }
}
