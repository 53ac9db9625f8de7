using System.Globalization;
using MonkeyCoder.Core.Limits;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// After the handler, answer or not: settles the call's admission with the tokens and cost its
/// usage charge recorded (a failed or cancelled execution's attempts were really spent), replacing
/// the budget hold, and returns the hold as the <see cref="RequestLimits.HoldTrailer"/> trailer.
/// </summary>
internal sealed class SettlementStep(RequestLimits limits) : ICallStep
{
    public async ValueTask RunAsync(CallContext call, CallNext next)
    {
        try
        {
            await next(call);
        }
        finally
        {
            if (call.Admission is { } admission)
            {
                if (admission.Hold?.Reservation is { } reservation)
                {
                    call.Edge.AddTrailer(RequestLimits.HoldTrailer, reservation.Micros.ToString(CultureInfo.InvariantCulture));
                }

                await limits.CompleteAsync((admission.Request, admission.Decision), call.Charge?.Tokens ?? 0, call.Charge?.CostUsd ?? 0, admission.Hold?.Reservation);
            }
        }
    }
}
