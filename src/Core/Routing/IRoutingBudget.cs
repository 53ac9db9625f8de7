namespace MonkeyCoder.Core.Routing;

/// <summary>
/// Budget hook for routing: how many US dollars the caller may still spend. The limits feature
/// registers its own implementation (per principal, per period); without one nothing is limited
/// beyond the request's own max_cost_usd.
/// </summary>
internal interface IRoutingBudget
{
    /// <summary>Remaining budget in USD, or null when unlimited.</summary>
    ValueTask<double?> RemainingUsdAsync(TaskRequest task, CancellationToken cancellationToken);
}

/// <summary>The default: no budget beyond the request's own max_cost_usd.</summary>
internal sealed class UnlimitedRoutingBudget : IRoutingBudget
{
    public ValueTask<double?> RemainingUsdAsync(TaskRequest task, CancellationToken cancellationToken) => ValueTask.FromResult<double?>(null);
}
