using MonkeyCoder.Core.Providers;
using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Cost: the worst case (the whole prompt plus every allowed output token) is held against the
/// budget, min(max_cost_usd, the caller's remaining budget); ranking compares prices at the
/// unclamped output (so a cut-short answer never looks cheaper), relative to the cheapest
/// candidate: cheapest/cost for the static score, CostWeight·(1 − cheapest/cost) off the learned value.
/// </summary>
internal static class CostRule
{
    /// <summary>Worst-case cost at the clamped output and the cost compared when ranking (unclamped output), in USD.</summary>
    public static (double WorstCase, double Relative) Estimate(CatalogModel model, long input, int outputCap, int unclampedOutput) =>
        ((input * model.InputPricePerMillion + outputCap * model.OutputPricePerMillion) / 1_000_000d,
         (input * model.InputPricePerMillion + unclampedOutput * model.OutputPricePerMillion) / 1_000_000d);

    /// <summary>The tighter of the request's own limit and the caller's remaining budget; null = none.</summary>
    public static double? Limit(double? requestLimit, double? remaining) => (requestLimit, remaining) switch
    {
        ({ } a, { } b) => Math.Min(a, b),
        ({ } a, null) => a,
        (null, { } b) => b,
        _ => null,
    };

    /// <summary>Why the model is left out, or null when its worst case fits the budget.</summary>
    public static string? OverBudget(CatalogModel model, double worstCase, double? limit) =>
        limit is { } l && worstCase > l ? Inv($"{model.Key}: worst-case cost ${worstCase:0.######} exceeds the budget of ${l:0.######}") : null;

    /// <summary>Static score 0–1: the cheapest candidate's cost over this one's (1 when free).</summary>
    public static double Score(double relativeCost, double cheapest) => relativeCost <= 0 ? 1 : cheapest / relativeCost;

    /// <summary>What the learned value loses for costing more than the cheapest eligible candidate.</summary>
    public static double Penalty(double weight, double relativeCost, double cheapest) => weight * (relativeCost <= 0 ? 0 : 1 - cheapest / relativeCost);
}
