namespace MonkeyCoder.Core.Usage;

/// <summary>
/// Set on a call's <see cref="UsageCharge"/> by the limits when a budget applies: before the plan
/// runs, holds its worst-case cost against the budgets (RESOURCE_EXHAUSTED BUDGET_EXCEEDED when it
/// does not fit); settlement replaces the hold with what usage recorded.
/// </summary>
internal interface IBudgetHold
{
    ValueTask ReserveAsync(Routing.RoutePlan plan, CancellationToken cancellationToken);

    /// <summary>The cost held for the call in US dollars once reserved; null before, or when no budget applies.</summary>
    double? HeldUsd { get; }
}
