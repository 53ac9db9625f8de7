using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Hosting;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// Ends calls still running at the drain bound (<see cref="DrainDeadline"/>) with UNAVAILABLE (reason
/// SHUTTING_DOWN, RetryInfo 1 s): the caller gets a status it retries, never a truncated answer
/// presented as complete. Only on edges that gate the abandoned handler's writes (<see cref="ICallEdge.CanDrain"/>:
/// gRPC); inside telemetry, which records the status, and outside the error mapping.
/// </summary>
internal sealed class DrainStep(DrainDeadline deadline) : ICallStep
{
    /// <summary>Completes when in-flight calls must end.</summary>
    public Task Reached => deadline.Reached;

    public async ValueTask RunAsync(CallContext call, CallNext next)
    {
        if (!call.Edge.CanDrain)
        {
            await next(call);
            return;
        }

        var running = next(call).AsTask();
        if (await Task.WhenAny(running, deadline.Reached) != running)
        {
            // The abandoned handler ends on its own (its writes are refused); its outcome is not the caller's any more.
            _ = running.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
            throw RpcErrors.Unavailable("SHUTTING_DOWN", "This replica is shutting down and its drain period is over; retry the call (another replica will serve it).", TimeSpan.FromSeconds(1));
        }

        await running;
    }
}
