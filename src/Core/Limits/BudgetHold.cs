using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Usage;

namespace MonkeyCoder.Core.Limits;

/// <summary>One call's budget hold: taken once the plan is known, settled by the limits when the call ends.</summary>
internal sealed class BudgetHold(RequestLimits limits, LimitRequest request) : IBudgetHold
{
    /// <summary>The hold taken, or null before (or without) one.</summary>
    public SpendReservation? Reservation { get; private set; }

    public double? HeldUsd => Reservation is { Admitted: true, Micros: > 0 } held ? held.Micros / 1_000_000d : null;

    public async ValueTask ReserveAsync(RoutePlan plan, CancellationToken cancellationToken)
    {
        if (Reservation is not null)
        {
            return; // one hold per call
        }

        Reservation = await limits.ReserveAsync(request, plan, cancellationToken);
    }
}
