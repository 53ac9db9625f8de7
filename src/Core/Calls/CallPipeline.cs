using MonkeyCoder.Core.Hosting;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// The one pipeline every call runs, whatever edge it came in on (gRPC and its REST transcoding
/// through <see cref="GrpcCallInterceptor"/>, the OpenAI-compatible endpoints through
/// <see cref="Edge.OpenAi.OpenAiCallFilter"/>). The order is written here and only here, outermost first:
/// <code>
/// telemetry → drain → error mapping → [fault injection, test hooks only] → sign-in limits
///   → authentication → request mapping → admission → settlement → handler
/// </code>
/// A new edge adds an adapter that builds a <see cref="CallContext"/> with its <see cref="ICallEdge"/>
/// and calls <see cref="RunAsync"/>; it never re-implements a step.
/// </summary>
internal sealed class CallPipeline
{
    private readonly ICallStep[] _steps;

    /// <summary>
    /// The steps composed once, ending with the call's own handler (<see cref="CallContext.Handler"/>):
    /// composing them per call cost a closure and a delegate per step on every call (≈ 0.7 KB, measured).
    /// </summary>
    private readonly CallNext _entry;

    public CallPipeline(
        TelemetryStep telemetry,
        DrainStep drain,
        ErrorMappingStep errors,
        SignInLimitStep signIn,
        AuthenticationStep authentication,
        AdmissionStep admission,
        SettlementStep settlement,
        TestHooks hooks)
    {
        List<ICallStep> steps =
        [
            telemetry,       // request id, log scope, metrics, trace; outermost, so it records the final status
            drain,           // at the drain bound, ends a call still running with UNAVAILABLE SHUTTING_DOWN
            errors,          // any exception → google.rpc.Status (RpcException), in one place
        ];
        if (hooks.FaultInjection is { } fault)
        {
            steps.Add(fault); // test-only: a marked prompt fails with an unexpected exception, inside the error mapping
        }

        steps.AddRange(
        [
            signIn,          // anonymous sign-in limits, before a password is hashed or the store touched
            authentication,  // credential → principal; the scope from Scopes.ByMethod
            RequestMapping,  // the edge maps its request to a task (or refuses a body it cannot read)
            admission,       // rate limits and the budget hold, over the one estimate (AdmissionEstimate)
            settlement,      // after the handler: settles the admission with what the call really used
        ]);
        _steps = [.. steps];
        CallNext next = static c => c.Handler!(c);
        for (var i = _steps.Length - 1; i >= 0; i--)
        {
            var step = _steps[i];
            var rest = next;
            next = c => step.RunAsync(c, rest);
        }

        _entry = next;
    }

    /// <summary>The steps, outermost first (for tests and the architecture notes).</summary>
    public IReadOnlyList<ICallStep> Steps => _steps;

    /// <summary>Runs <paramref name="handler"/> inside every step, for <paramref name="call"/>.</summary>
    public async ValueTask RunAsync(CallContext call, CallNext handler)
    {
        // Set inside this async method, so the call is current for its steps and handler and for nothing after it.
        CallContext.Current = call;
        call.Handler = handler;
        await _entry(call);
    }

    private static readonly ICallStep RequestMapping = new RequestMappingStep();

    /// <summary>Asks the edge to map its request (<see cref="ICallEdge.BindAsync"/>).</summary>
    private sealed class RequestMappingStep : ICallStep
    {
        public async ValueTask RunAsync(CallContext call, CallNext next)
        {
            await call.Edge.BindAsync(call);
            await next(call);
        }
    }
}
