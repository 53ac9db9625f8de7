namespace MonkeyCoder.Core.Limits;

/// <summary>One budget this month, in micro-USD: its cap (null = none), what was spent and what open reservations hold.</summary>
internal sealed record BudgetUse(long? LimitMicros, long SpentMicros, long ReservedMicros, int OpenReservations)
{
    /// <summary>Cap minus spend minus holds, never below 0; null without a cap.</summary>
    public long? RemainingMicros => LimitMicros is { } limit ? Math.Max(0, limit - SpentMicros - ReservedMicros) : null;
}

internal sealed record BudgetSnapshot(BudgetUse? Key, BudgetUse User);
