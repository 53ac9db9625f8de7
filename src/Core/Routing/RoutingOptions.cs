using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Routing;

/// <summary>Candidate scoring and learning from outcomes. Section <c>MonkeyCoder:Routing</c>.</summary>
public sealed class RoutingOptions
{
    public const string Section = "MonkeyCoder:Routing";

    /// <summary>
    /// <c>ROUTER_EXPLORATION_RATE</c>: how far the bandit follows its random posterior draw instead of
    /// the posterior mean. 0 = pure exploitation, 1 = plain Thompson sampling. Defaults to 1.
    /// </summary>
    [Range(0.0, 1.0, ErrorMessage = "ROUTER_EXPLORATION_RATE (MonkeyCoder:Routing:ExplorationRate) must be between 0 and 1.")]
    public double ExplorationRate { get; set; } = 1.0;

    /// <summary>Most top candidates the bandit chooses among. 1 switches the bandit off. Defaults to 3.</summary>
    [Range(1, 10, ErrorMessage = "MonkeyCoder:Routing:BanditCandidates must be between 1 and 10.")]
    public int BanditCandidates { get; set; } = 3;

    /// <summary>
    /// Only candidates whose static score is within this fraction of the best take part in the
    /// bandit, so it never explores a clearly unfit model. Defaults to 0.15 (within 15 %).
    /// </summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:BanditScoreMargin must be between 0 and 1.")]
    public double BanditScoreMargin { get; set; } = 0.15;

    /// <summary>Pseudo-observations the static score is worth in the Beta prior. Defaults to 10.</summary>
    [Range(0.5, 10_000, ErrorMessage = "MonkeyCoder:Routing:PriorStrength must be between 0.5 and 10000.")]
    public double PriorStrength { get; set; } = 10;

    /// <summary>
    /// Factor applied to a model's evidence before each new observation, so old outcomes fade
    /// (0.995 ≈ a memory of the last 200 outcomes). 1 = never forget. Defaults to 0.995.
    /// </summary>
    [Range(0.5, 1.0, ErrorMessage = "MonkeyCoder:Routing:Decay must be between 0.5 and 1.")]
    public double Decay { get; set; } = 0.995;

    /// <summary>Share of the reward a slow success loses at <see cref="LatencyTargetMs"/> or slower. Defaults to 0.2.</summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:LatencyWeight must be between 0 and 1.")]
    public double LatencyWeight { get; set; } = 0.2;

    /// <summary>Latency at which a success earns the full latency penalty, in ms. Defaults to 20000 ms.</summary>
    [Range(1, 3_600_000, ErrorMessage = "MonkeyCoder:Routing:LatencyTargetMs must be between 1 and 3600000.")]
    public int LatencyTargetMs { get; set; } = 20_000;

    /// <summary>Share of the reward an expensive success loses at <see cref="CostTargetUsd"/> or more. Defaults to 0.1.</summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:CostWeight must be between 0 and 1.")]
    public double CostWeight { get; set; } = 0.1;

    /// <summary>Cost of one attempt at which it earns the full cost penalty, in USD. Defaults to 0.05.</summary>
    [Range(0.000001, 1000, ErrorMessage = "MonkeyCoder:Routing:CostTargetUsd must be between 0.000001 and 1000.")]
    public double CostTargetUsd { get; set; } = 0.05;

    /// <summary>Observations one caller rating is worth. Defaults to 2.</summary>
    [Range(0.0, 100, ErrorMessage = "MonkeyCoder:Routing:FeedbackWeight must be between 0 and 100.")]
    public double FeedbackWeight { get; set; } = 2;

    /// <summary>
    /// Smallest answer a candidate must leave room for. A model whose window cannot hold the input
    /// plus this many tokens (or max_tokens when smaller) is left out; one that holds this but not
    /// all of max_tokens gets max_tokens clamped. Defaults to 256.
    /// </summary>
    [Range(1, 100_000, ErrorMessage = "MonkeyCoder:Routing:MinOutputTokens must be between 1 and 100000.")]
    public int MinOutputTokens { get; set; } = 256;

    /// <summary>Outcomes a model needs before its observed latency replaces the catalog's. Defaults to 5.</summary>
    [Range(0, 10_000, ErrorMessage = "MonkeyCoder:Routing:MinSamplesForObservedLatency must be between 0 and 10000.")]
    public int MinSamplesForObservedLatency { get; set; } = 5;

    /// <summary>Executions remembered for the Feedback RPC (in-process store). Defaults to 10000.</summary>
    [Range(1, 10_000_000, ErrorMessage = "MonkeyCoder:Routing:ExecutionMemoryCapacity must be between 1 and 10000000.")]
    public int ExecutionMemoryCapacity { get; set; } = 10_000;

    /// <summary>How long an execution can still be rated, in hours. Defaults to 24 h.</summary>
    [Range(1, 24 * 90, ErrorMessage = "MonkeyCoder:Routing:ExecutionMemoryHours must be between 1 and 2160.")]
    public int ExecutionMemoryHours { get; set; } = 24;

    /// <summary>Seed of the bandit's random numbers; 0 = seeded from the clock. Defaults to 0.</summary>
    public int RandomSeed { get; set; }
}

[OptionsValidator]
public sealed partial class RoutingOptionsValidator : IValidateOptions<RoutingOptions>;
