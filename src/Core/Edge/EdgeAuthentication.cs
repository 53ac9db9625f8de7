using Microsoft.AspNetCore.Http;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Edge;

/// <summary>
/// The seam through which the REST edge's own endpoints (the OpenAI-compatible ones, which do not
/// pass through the gRPC interceptors) authenticate and are limited. Transcoded RPCs need none of
/// this: they run the gRPC interceptors. Implementations throw an <see cref="Grpc.Core.RpcException"/>
/// built with <see cref="Api.RpcErrors"/> (UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED with
/// RetryInfo …); the edge maps it to the OpenAI error shape, HTTP status and Retry-After.
/// </summary>
internal interface IEdgeAuthenticator
{
    /// <summary>Resolves the caller of <paramref name="operation"/> (see <see cref="EdgeOperations"/>) from the request's credentials.</summary>
    ValueTask<CallerIdentity> AuthenticateAsync(HttpContext context, string operation, CancellationToken cancellationToken);
}

/// <summary>Admission after authentication: request and token rate limits, budgets.</summary>
internal interface IEdgeRequestLimiter
{
    /// <summary>
    /// Throws RESOURCE_EXHAUSTED (with RetryInfo) when <paramref name="caller"/> may not run
    /// <paramref name="operation"/> now; otherwise returns the admission to settle once the call has
    /// finished (null when nothing needs settling). When a budget applies, <paramref name="charge"/>
    /// gets the budget hold the call takes once its plan is known.
    /// </summary>
    ValueTask<IEdgeAdmission?> AcquireAsync(CallerIdentity caller, string operation, long estimatedTokens, CancellationToken cancellationToken,
        Usage.UsageCharge? charge = null);
}

/// <summary>An admitted call: settled with what it really consumed (the token window is corrected, the spend counts against budgets).</summary>
internal interface IEdgeAdmission
{
    /// <summary>Called once, when the call ends (successfully or not); must not throw.</summary>
    ValueTask CompleteAsync(long tokens, double costUsd);
}

/// <summary>Operation names the edge passes to the seams (scopes and limits are keyed by them).</summary>
internal static class EdgeOperations
{
    public const string ChatCompletions = "openai.chat.completions";
    public const string ListModels = "openai.models.list";
}

/// <summary>The default until the auth feature registers its own: every caller is anonymous, as on the gRPC side.</summary>
internal sealed class AnonymousEdgeAuthenticator : IEdgeAuthenticator
{
    public ValueTask<CallerIdentity> AuthenticateAsync(HttpContext context, string operation, CancellationToken cancellationToken) =>
        ValueTask.FromResult(CallerIdentity.Anonymous);
}

/// <summary>The default until the limits feature registers its own: no limits.</summary>
internal sealed class UnlimitedEdgeRequestLimiter : IEdgeRequestLimiter
{
    public ValueTask<IEdgeAdmission?> AcquireAsync(CallerIdentity caller, string operation, long estimatedTokens, CancellationToken cancellationToken,
        Usage.UsageCharge? charge = null) =>
        ValueTask.FromResult<IEdgeAdmission?>(null);
}
