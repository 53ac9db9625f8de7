namespace MonkeyCoder.Core.Limits;

/// <summary>
/// A hold on budget for one execution. <see cref="Admitted"/> false: <see cref="Scope"/> ("key" or
/// "user") has only <see cref="RemainingMicros"/> left. When admitted, <see cref="RemainingMicros"/> is
/// what the tighter budget had left before this hold (-1 = no budget), for the outage share.
/// </summary>
internal sealed record SpendReservation(string Id, long Micros, bool Admitted, string? Scope, long RemainingMicros)
{
    /// <summary>Held by this replica's outage share while the shared limiter was unreachable.</summary>
    public bool Fallback { get; init; }

    /// <summary>The remaining key and user budgets before this hold (-1 = no budget), as the shared limiter saw them.</summary>
    public long KeyRemainingMicros { get; init; } = -1;

    public long UserRemainingMicros { get; init; } = -1;

    /// <summary>The first refusal of this budget this month, across replicas (the 100 % alert goes out once).</summary>
    public bool FirstRefusal { get; init; }

    /// <summary>The member stored in the reservation sets: id and amount, so the set alone sums the holds.</summary>
    public string Member => Id + ":" + Micros.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The month's spend after a settlement, in micro-USD (key -1 when the call used no key), for the threshold alerts.</summary>
internal readonly record struct SpendTotals(long KeySpentMicros, long UserSpentMicros)
{
    public static readonly SpendTotals Unknown = new(-1, -1);
}
