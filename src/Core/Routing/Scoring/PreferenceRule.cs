using MonkeyCoder.Core.Providers;
using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Preferences: ×PreferenceMultiplier (1.2) for the model or provider the caller prefers (a named
/// model counts as preferred), ×CheapModelMultiplier (1.1) for a cheap model (blended price below
/// CheapPricePerMillion, $1/M) on a simple task (complexity below SimpleTaskComplexity, 0.4).
/// </summary>
internal sealed class PreferenceRule(RoutingScoringOptions weights)
{
    // The same two texts on every call: formatted once (the weights are fixed at start).
    private readonly string _preferred = Inv($"preferred by the caller (×{weights.PreferenceMultiplier:0.0##})");
    private readonly string _cheap = Inv($"cheap model for a simple task (×{weights.CheapModelMultiplier:0.0##})");

    /// <summary>The multiplier for this model; adds its reasons and breakdown entries.</summary>
    public double Apply(TaskRequest task, CatalogModel model, double complexity, ICollection<string> reasons, Dictionary<string, double> breakdown)
    {
        var multiplier = 1.0;
        if (IsPreferred(task, model))
        {
            multiplier *= weights.PreferenceMultiplier;
            breakdown["preference"] = weights.PreferenceMultiplier;
            reasons.Add(_preferred);
        }

        var blendedPrice = (model.InputPricePerMillion + model.OutputPricePerMillion) / 2;
        if (complexity < weights.SimpleTaskComplexity && blendedPrice < weights.CheapPricePerMillion)
        {
            multiplier *= weights.CheapModelMultiplier;
            breakdown["cheap_bonus"] = weights.CheapModelMultiplier;
            reasons.Add(_cheap);
        }

        return multiplier;
    }

    /// <summary>The caller named this model (provider → model id or alias), or prefers its provider.</summary>
    public static bool IsPreferred(TaskRequest task, CatalogModel model)
    {
        if (task.ModelPreferences.TryGetValue(model.Provider, out var preferred))
        {
            return string.Equals(preferred, model.Id, StringComparison.OrdinalIgnoreCase) || AnyEquals(model.Aliases, preferred);
        }

        return AnyEquals(task.PreferredProviders, model.Provider);
    }

    /// <summary>Case-insensitive membership without an enumerator (called for every candidate).</summary>
    private static bool AnyEquals(IReadOnlyList<string> values, string value)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (string.Equals(values[i], value, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
