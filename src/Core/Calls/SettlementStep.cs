using System.Globalization;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Limits;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// After the handler, answer or not: settles the call's admission with the tokens and cost its
/// usage charge recorded (a failed or cancelled execution's attempts were really spent), replacing
/// the budget hold, and returns the hold as the <see cref="RequestLimits.HoldTrailer"/> trailer. The
/// store writes the call handed over (<see cref="CallContext.TryDefer"/>) are awaited here, alongside
/// the settlement.
/// </summary>
internal sealed partial class SettlementStep(RequestLimits limits, ILogger<SettlementStep> logger) : ICallStep
{
    public async ValueTask RunAsync(CallContext call, CallNext next)
    {
        try
        {
            await next(call);
        }
        finally
        {
            var settled = Task.CompletedTask;
            if (call.Admission is { } admission)
            {
                if (admission.Hold?.Reservation is { } reservation)
                {
                    call.Edge.AddTrailer(RequestLimits.HoldTrailer, reservation.Micros.ToString(CultureInfo.InvariantCulture));
                }

                settled = limits.CompleteAsync((admission.Request, admission.Decision), call.Charge?.Tokens ?? 0, call.Charge?.CostUsd ?? 0, admission.Hold?.Reservation);
            }

            // Sent before the settlement's own round trip ends, so both share it.
            if (call.TakeDeferred() is { } writes)
            {
                foreach (var write in writes)
                {
                    try
                    {
                        await write;
                    }
                    catch (Exception ex)
                    {
                        // The call's answer stands; the write's own code logs what it expects (a store outage).
                        Log.DeferredWriteFailed(logger, call.Rpc, ex);
                    }
                }
            }

            await settled;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.DeferredWriteFailed, Level = LogLevel.Error,
            Message = "A store write handed over by {Rpc} failed after its answer")]
        public static partial void DeferredWriteFailed(ILogger logger, string rpc, Exception exception);
    }
}
