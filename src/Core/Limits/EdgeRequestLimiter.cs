using Microsoft.AspNetCore.Http;
using MonkeyCoder.Core.Auth;
using MonkeyCoder.Core.Edge;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// The same per-principal limits for the HTTP edge (OpenAI-compatible endpoints) as for gRPC: one
/// admission through <see cref="RateLimitInterceptor"/>'s shared logic, headers included, settled
/// after the call with the tokens and cost it really used, exactly as the interceptor settles RPCs.
/// </summary>
internal sealed class EdgeRequestLimiter(RateLimitInterceptor limits, IHttpContextAccessor http) : IEdgeRequestLimiter
{
    public async ValueTask<IEdgeAdmission?> AcquireAsync(CallerIdentity caller, string operation, long estimatedTokens, CancellationToken cancellationToken,
        UsageCharge? charge = null)
    {
        var context = http.HttpContext;
        if (context?.Items[EdgeAuthenticator.PrincipalItem] is not Principal principal)
        {
            return null; // authentication is off: nothing to limit per principal
        }

        return await limits.AdmitAsync(principal, RateLimitInterceptor.EdgeMethodPrefix + operation, estimatedTokens, context.Response, cancellationToken) is { } admission
            ? new Admission(limits, admission, charge is null ? null : limits.AttachHold(admission, charge))
            : null;
    }

    private sealed class Admission(RateLimitInterceptor limits, (LimitRequest Request, LimitDecision Decision) admission, BudgetHold? hold) : IEdgeAdmission
    {
        public ValueTask CompleteAsync(long tokens, double costUsd) => new(limits.CompleteAsync(admission, tokens, costUsd, hold?.Reservation));
    }
}
