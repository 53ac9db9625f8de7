using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Weights of the router's scoring rules (see Routing/README.md). Section
/// <c>MonkeyCoder:Routing:Scoring</c>. The defaults are the router's original constants; changing
/// them changes every plan.
/// </summary>
internal sealed class RoutingScoringOptions
{
    public const string Section = RoutingOptions.Section + ":Scoring";

    // Capability (CapabilityRule): code·cg + reasoning·r + fit·window + reliability·rel.

    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:CodeGenerationWeight must be between 0 and 1.")]
    public double CodeGenerationWeight { get; set; } = 0.3;

    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:ReasoningWeight must be between 0 and 1.")]
    public double ReasoningWeight { get; set; } = 0.3;

    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:ContextFitWeight must be between 0 and 1.")]
    public double ContextFitWeight { get; set; } = 0.2;

    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:ReliabilityWeight must be between 0 and 1.")]
    public double ReliabilityWeight { get; set; } = 0.2;

    /// <summary>Context fit of a model whose max_tokens had to be clamped: floor + (1 − floor)·room/requested.</summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:ClampedFitFloor must be between 0 and 1.")]
    public double ClampedFitFloor { get; set; } = 0.5;

    // Objective (ObjectiveRule): weights of relative cost and latency per routing objective.

    [ValidateObjectMembers]
    public ObjectiveWeights Balanced { get; set; } = new() { Cost = 0.1, Latency = 0.1 };

    [ValidateObjectMembers]
    public ObjectiveWeights Quality { get; set; } = new() { Cost = 0, Latency = 0 };

    [ValidateObjectMembers]
    public ObjectiveWeights Cost { get; set; } = new() { Cost = 0.5, Latency = 0.05 };

    [ValidateObjectMembers]
    public ObjectiveWeights Latency { get; set; } = new() { Cost = 0.05, Latency = 0.5 };

    /// <summary>Latency (LatencyRule) assumed for a model whose catalog entry gives none, in ms.</summary>
    [Range(1.0, 600_000, ErrorMessage = "MonkeyCoder:Routing:Scoring:DefaultLatencyMs must be between 1 and 600000.")]
    public double DefaultLatencyMs { get; set; } = 1000;

    // Preferences (PreferenceRule).

    /// <summary>Factor for the model or provider the caller prefers (or named).</summary>
    [Range(0.0, 10.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:PreferenceMultiplier must be between 0 and 10.")]
    public double PreferenceMultiplier { get; set; } = 1.2;

    /// <summary>Factor for a cheap model on a simple task.</summary>
    [Range(0.0, 10.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:CheapModelMultiplier must be between 0 and 10.")]
    public double CheapModelMultiplier { get; set; } = 1.1;

    /// <summary>Below this blended price (USD per 1M tokens) a model counts as cheap.</summary>
    [Range(0.0, 1_000_000, ErrorMessage = "MonkeyCoder:Routing:Scoring:CheapPricePerMillion must be between 0 and 1000000.")]
    public double CheapPricePerMillion { get; set; } = 1.0;

    /// <summary>Below this complexity (0–1) a task counts as simple.</summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:SimpleTaskComplexity must be between 0 and 1.")]
    public double SimpleTaskComplexity { get; set; } = 0.4;

    // Health (HealthRule).

    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:DegradedMultiplier must be between 0 and 1.")]
    public double DegradedMultiplier { get; set; } = 0.85;

    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:UnhealthyMultiplier must be between 0 and 1.")]
    public double UnhealthyMultiplier { get; set; } = 0.5;

    // Confidence (ConfidenceRule): max(floor, context·c + capability·cap − complexity·x), blended with the leader's learned mean.

    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:ConfidenceContextWeight must be between 0 and 1.")]
    public double ConfidenceContextWeight { get; set; } = 0.4;

    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:ConfidenceCapabilityWeight must be between 0 and 1.")]
    public double ConfidenceCapabilityWeight { get; set; } = 0.6;

    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:ConfidenceComplexityWeight must be between 0 and 1.")]
    public double ConfidenceComplexityWeight { get; set; } = 0.2;

    /// <summary>How sure the analysis is of a specific context type; <see cref="GeneralContextConfidence"/> for general.</summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:SpecificContextConfidence must be between 0 and 1.")]
    public double SpecificContextConfidence { get; set; } = 0.9;

    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:GeneralContextConfidence must be between 0 and 1.")]
    public double GeneralContextConfidence { get; set; } = 0.5;

    /// <summary>Share of the confidence kept from the static formula once the leader has <see cref="ConfidenceMinEvidence"/>.</summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:ConfidenceStaticShare must be between 0 and 1.")]
    public double ConfidenceStaticShare { get; set; } = 0.7;

    /// <summary>Share of the confidence taken from the leader's learned posterior mean once it has <see cref="ConfidenceMinEvidence"/>.</summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:ConfidenceLearnedShare must be between 0 and 1.")]
    public double ConfidenceLearnedShare { get; set; } = 0.3;

    [Range(0.0, 10_000, ErrorMessage = "MonkeyCoder:Routing:Scoring:ConfidenceMinEvidence must be between 0 and 10000.")]
    public double ConfidenceMinEvidence { get; set; } = 5;

    /// <summary>Factor on the confidence when the leader is penalised or its circuit is not closed.</summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:Scoring:ConfidencePenalty must be between 0 and 1.")]
    public double ConfidencePenalty { get; set; } = 0.9;

    /// <summary>The weights of an objective (unspecified = balanced).</summary>
    public ObjectiveWeights For(RoutingObjective objective) => objective switch
    {
        RoutingObjective.Quality => Quality,
        RoutingObjective.Cost => Cost,
        RoutingObjective.Latency => Latency,
        _ => Balanced,
    };
}

[OptionsValidator]
internal sealed partial class RoutingScoringOptionsValidator : IValidateOptions<RoutingScoringOptions>;
