using System.Globalization;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Routing;

/// <summary>
/// Ranks the enabled catalog models for a task with the original router's formula:
/// score = 0.3·min(cg/req,1) + 0.3·min(reasoning/req,1) + 0.2·(fits window ? 1 : 0.5)
/// + 0.2·min(reliability/req,1); ×1.2 for the caller's preferred provider or model;
/// ×1.1 for a cheap model when complexity is below 0.4.
/// Confidence = max(0.1, 0.4·context + 0.6·capability − 0.2·complexity).
/// </summary>
public sealed class CapabilityRouter(TaskAnalyzer analyzer, ModelCatalog catalog, ProviderRegistry providers) : ITaskRouter
{
    /// <summary>Below this blended price (USD per 1M tokens) a model counts as cheap.</summary>
    private const double CheapPricePerMillion = 1.0;

    public ValueTask<RoutePlan> PlanAsync(TaskRequest task, CancellationToken cancellationToken)
    {
        var analysis = analyzer.Analyze(task);
        var requirement = Requirement(analysis.Level);
        var candidates = new List<RouteCandidate>();
        var rejected = new List<string>();

        foreach (var model in catalog.Models)
        {
            if (!providers.IsEnabled(model.Provider) || model.IsDeprecated)
            {
                continue;
            }

            if (task.PreferredProviders.Count > 0 && task.ModelPreferences.Count == 0
                && !task.PreferredProviders.Contains(model.Provider, StringComparer.OrdinalIgnoreCase)
                && providers.IsEnabled(task.PreferredProviders))
            {
                // A preference for an enabled provider narrows the field; others stay out of the plan.
                continue;
            }

            var needed = analysis.EstimatedInputTokens + Math.Min(task.MaxTokens, model.MaxOutputTokens);
            if (analysis.EstimatedInputTokens >= model.ContextWindow)
            {
                rejected.Add($"{model.Key}: input of {analysis.EstimatedInputTokens} tokens exceeds its {model.ContextWindow}-token window");
                continue;
            }

            var fits = needed <= model.ContextWindow;
            var caps = model.Capabilities;
            var codeGen = Math.Min(caps.CodeGeneration / requirement.CodeGeneration, 1);
            var reasoning = Math.Min(caps.Reasoning / requirement.Reasoning, 1);
            var reliability = Math.Min(caps.Reliability / requirement.Reliability, 1);
            var window = fits ? 1 : 0.5;
            var score = 0.3 * codeGen + 0.3 * reasoning + 0.2 * window + 0.2 * reliability;
            var reasons = new List<string>
            {
                string.Create(CultureInfo.InvariantCulture, $"capability {caps.CodeGeneration:0.00} code / {caps.Reasoning:0.00} reasoning against {analysis.Level.ToString().ToLowerInvariant()} requirement {requirement.CodeGeneration:0.00}/{requirement.Reasoning:0.00}"),
                fits
                    ? string.Create(CultureInfo.InvariantCulture, $"fits its {model.ContextWindow}-token window ({needed} needed)")
                    : string.Create(CultureInfo.InvariantCulture, $"tight window: {needed} needed of {model.ContextWindow}"),
            };
            var breakdown = new Dictionary<string, double>
            {
                ["code_generation"] = codeGen,
                ["reasoning"] = reasoning,
                ["context_fit"] = window,
                ["reliability"] = reliability,
            };

            if (IsPreferred(task, model))
            {
                score *= 1.2;
                breakdown["preference"] = 1.2;
                reasons.Add("preferred by the caller (×1.2)");
            }

            var blendedPrice = (model.InputPricePerMillion + model.OutputPricePerMillion) / 2;
            if (analysis.Complexity < 0.4 && blendedPrice < CheapPricePerMillion)
            {
                score *= 1.1;
                breakdown["cost"] = 1.1;
                reasons.Add("cheap model for a simple task (×1.1)");
            }

            candidates.Add(new RouteCandidate(model, Math.Round(score, 4), reasons, breakdown));
        }

        if (candidates.Count == 0)
        {
            throw RpcErrors.FailedPrecondition(
                "NO_MODEL_AVAILABLE",
                rejected.Count > 0
                    ? "No enabled model can take this task: " + string.Join("; ", rejected)
                    : "No enabled provider has a model for this task.");
        }

        // Stable order: score, then cheaper, then catalog order.
        var ordered = candidates
            .Select((c, i) => (c, i))
            .OrderByDescending(x => x.c.Score)
            .ThenBy(x => x.c.Model.InputPricePerMillion + x.c.Model.OutputPricePerMillion)
            .ThenBy(x => x.i)
            .Select(x => x.c)
            .ToList();

        var top = ordered[0];
        var capabilityFit = Math.Min(top.Score, 1);
        var contextConfidence = analysis.Context == ContextType.General ? 0.5 : 0.9;
        var confidence = Math.Max(0.1, 0.4 * contextConfidence + 0.6 * capabilityFit - 0.2 * analysis.Complexity);

        var strategy = task.Strategy == Strategy.Unspecified ? Strategy.Single : task.Strategy;
        return ValueTask.FromResult(new RoutePlan
        {
            Task = task,
            Analysis = analysis,
            Strategy = strategy,
            Candidates = ordered,
            Confidence = Math.Round(Math.Min(confidence, 1), 3),
            Reasons =
            [
                string.Create(CultureInfo.InvariantCulture, $"{analysis.Level.ToString().ToLowerInvariant()} {analysis.Context.ToString().ToLowerInvariant()} task (complexity {analysis.Complexity:0.00}) for a {analysis.Persona.ToString().ToLowerInvariant()}"),
                string.Create(CultureInfo.InvariantCulture, $"{top.Model.Key} ranks first of {ordered.Count} with score {top.Score:0.000}"),
            ],
            CollapseStrategy = task.CollapseStrategy == CollapseStrategy.Unspecified ? CollapseStrategy.BestScore : task.CollapseStrategy,
            ParallelVariants = task.ParallelVariants > 0 ? task.ParallelVariants : 3,
            PipelinePersonas = task.PipelinePersonas.Count > 0 ? task.PipelinePersonas : [Persona.Architect, Persona.Developer, Persona.Reviewer],
        });
    }

    private static bool IsPreferred(TaskRequest task, CatalogModel model)
    {
        if (task.ModelPreferences.TryGetValue(model.Provider, out var preferred))
        {
            return string.Equals(preferred, model.Id, StringComparison.OrdinalIgnoreCase)
                || model.Aliases.Contains(preferred, StringComparer.OrdinalIgnoreCase);
        }

        return task.PreferredProviders.Contains(model.Provider, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Capability requirements by complexity level, as the original router scaled them.</summary>
    internal static (double CodeGeneration, double Reasoning, double Reliability) Requirement(ComplexityLevel level) => level switch
    {
        ComplexityLevel.Critical => (0.95, 0.95, 0.95),
        ComplexityLevel.Complex => (0.85, 0.85, 0.9),
        ComplexityLevel.Moderate => (0.7, 0.7, 0.85),
        ComplexityLevel.Simple => (0.55, 0.5, 0.8),
        _ => (0.4, 0.3, 0.75),
    };
}
