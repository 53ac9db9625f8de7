using Microsoft.AspNetCore.Http;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Edge;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Auth;

/// <summary>
/// Authentication for the HTTP edge (OpenAI-compatible endpoints): the same credentials, the same
/// refusals and the same scopes as the gRPC interceptor. The principal is kept on the request for
/// the limiter.
/// </summary>
internal sealed class EdgeAuthenticator(AuthInterceptor auth) : IEdgeAuthenticator
{
    internal const string PrincipalItem = "monkeycoder.principal";

    public async ValueTask<CallerIdentity> AuthenticateAsync(HttpContext context, string operation, CancellationToken cancellationToken)
    {
        if (!auth.Enabled)
        {
            return CallerIdentity.Anonymous;
        }

        var (principal, failure) = await auth.AuthenticateAsync(Credential(context.Request), cancellationToken);
        if (principal is null)
        {
            throw failure!;
        }

        var required = operation == EdgeOperations.ListModels ? Scopes.ModelsRead : Scopes.Execute;
        if (!principal.Has(required))
        {
            throw RpcErrors.PermissionDenied(AuthReasons.ScopeMissing, $"This credential lacks the '{required}' scope that {operation} needs.");
        }

        context.Items[PrincipalItem] = principal;
        return new CallerIdentity(principal.Id, principal.ApiKeyId, principal.IsAdmin, principal.Limits.AllowedModels);
    }

    /// <summary><c>Authorization: Bearer X</c> wins over <c>x-api-key</c>, as on gRPC.</summary>
    private static string? Credential(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString().Trim();
        if (authorization.Length > 0)
        {
            return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : authorization;
        }

        var apiKey = request.Headers["x-api-key"].ToString().Trim();
        return apiKey.Length == 0 ? null : apiKey;
    }
}
