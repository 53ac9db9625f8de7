using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// TEST-ONLY fault hook, present only when <see cref="Hosting.TestHooks"/> are on (refused in
/// production). A request whose prompt contains <see cref="Marker"/> then fails with an unexpected
/// exception (message carrying the prompt, the caller's own <c>x-api-key</c> and a fake provider key:
/// the worst case for scrubbing), so tests drive the INTERNAL path: error log, Sentry event, metrics.
/// Runs inside the error mapping.
/// </summary>
internal sealed class FaultInjectionStep : ICallStep
{
    public const string Marker = "[[monkeycoder-test-fault:internal]]";

    public ValueTask RunAsync(CallContext call, CallNext next)
    {
        if (call.Request is ExecuteRequest execute && execute.Prompt.Contains(Marker, StringComparison.Ordinal))
        {
            var callerKey = call.Edge.Header("x-api-key") ?? "-";
            throw new InjectedFaultException(
                $"Injected test fault while handling prompt '{execute.Prompt}' for caller key {callerKey} (upstream Authorization: Bearer sk-injected-fault-0123456789abcdef)");
        }

        return next(call);
    }
}
