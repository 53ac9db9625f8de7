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
    /// <summary>The multiplier for this model; adds its reasons and breakdown entries.</summary>
    public double Apply(TaskRequest task, CatalogModel model, double complexity, List<string> reasons, Dictionary<string, double> breakdown)
    {
        var multiplier = 1.0;
        if (IsPreferred(task, model))
        {
            multiplier *= weights.PreferenceMultiplier;
            breakdown["preference"] = weights.PreferenceMultiplier;
            reasons.Add(Inv($"preferred by the caller (×{weights.PreferenceMultiplier:0.0##})"));
        }

        var blendedPrice = (model.InputPricePerMillion + model.OutputPricePerMillion) / 2;
        if (complexity < weights.SimpleTaskComplexity && blendedPrice < weights.CheapPricePerMillion)
        {
            multiplier *= weights.CheapModelMultiplier;
            breakdown["cheap_bonus"] = weights.CheapModelMultiplier;
            reasons.Add(Inv($"cheap model for a simple task (×{weights.CheapModelMultiplier:0.0##})"));
        }

        return multiplier;
    }

    /// <summary>The caller named this model (provider → model id or alias), or prefers its provider.</summary>
    public static bool IsPreferred(TaskRequest task, CatalogModel model)
    {
        if (task.ModelPreferences.TryGetValue(model.Provider, out var preferred))
        {
            return string.Equals(preferred, model.Id, StringComparison.OrdinalIgnoreCase)
                || model.Aliases.Contains(preferred, StringComparer.OrdinalIgnoreCase);
        }

        return task.PreferredProviders.Contains(model.Provider, StringComparer.OrdinalIgnoreCase);
    }
}
