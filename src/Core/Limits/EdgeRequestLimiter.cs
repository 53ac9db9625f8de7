using Microsoft.AspNetCore.Http;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Edge;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// The same per-principal limits for the HTTP edge (OpenAI-compatible endpoints) as for gRPC: one
/// admission through <see cref="RateLimitInterceptor"/>'s shared logic, headers included.
/// Tokens are limited on the estimate; the edge does not correct it after the call.
/// </summary>
public sealed class EdgeRequestLimiter(RateLimitInterceptor limits, IHttpContextAccessor http) : IEdgeRequestLimiter
{
    public async ValueTask AcquireAsync(CallerIdentity caller, string operation, long estimatedTokens, CancellationToken cancellationToken)
    {
        var context = http.HttpContext;
        if (context?.Items[EdgeAuthenticator.PrincipalItem] is not Principal principal)
        {
            return; // authentication is off: nothing to limit per principal
        }

        await limits.AdmitAsync(principal, "/openai/" + operation, estimatedTokens, context.Response, cancellationToken);
    }
}
