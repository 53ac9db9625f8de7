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

    /// <summary>
    /// How many eligible candidates (best static score first) the bandit chooses among: 0 = every
    /// eligible model (hard constraints — window, budget, preferred providers, open circuits — decide
    /// eligibility, never the score), 1 switches learning off (static order). Defaults to 0.
    /// </summary>
    [Range(0, 1000, ErrorMessage = "MonkeyCoder:Routing:BanditCandidates must be between 0 and 1000.")]
    public int BanditCandidates { get; set; }

    /// <summary>
    /// Share of a task type's recent attempts reserved for exploration, spread evenly over the
    /// eligible models: a model whose share of the (time-decayed) attempts falls below
    /// ExplorationFloor / candidates goes first on the next call, so no eligible model is starved
    /// and a recovered one is noticed. 0 = Thompson sampling alone. Defaults to 0.05 (5 %).
    /// </summary>
    [Range(0.0, 0.5, ErrorMessage = "MonkeyCoder:Routing:ExplorationFloor must be between 0 and 0.5.")]
    public double ExplorationFloor { get; set; } = 0.05;

    /// <summary>Pseudo-observations the static score is worth in the Beta prior. Defaults to 10.</summary>
    [Range(0.5, 10_000, ErrorMessage = "MonkeyCoder:Routing:PriorStrength must be between 0.5 and 10000.")]
    public double PriorStrength { get; set; } = 10;

    /// <summary>
    /// Most pseudo-observations a model's statistics over every task type lend a task type's
    /// posterior (the shared prior it backs off to): a task type the model has rarely served starts
    /// from what it did elsewhere; its own outcomes soon outweigh that. Defaults to 5.
    /// </summary>
    [Range(0.0, 10_000, ErrorMessage = "MonkeyCoder:Routing:SharedPriorWeight must be between 0 and 10000.")]
    public double SharedPriorWeight { get; set; } = 5;

    /// <summary>
    /// Factor applied to a model's evidence before each new observation, so old outcomes fade
    /// (0.98 ≈ a memory of the last 50 outcomes of that model on that task type). 1 = never forget
    /// by count (time still decays). Defaults to 0.98.
    /// </summary>
    [Range(0.5, 1.0, ErrorMessage = "MonkeyCoder:Routing:Decay must be between 0.5 and 1.")]
    public double Decay { get; set; } = 0.98;

    /// <summary>
    /// <c>ROUTER_DECAY_HALF_LIFE_SECONDS</c>: every learned statistic (reward evidence, attempts,
    /// failures, the weight behind the latency and cost averages) halves over this much time, so an
    /// idle model drifts back to its prior and is explored again. Defaults to 3600 s (1 h).
    /// </summary>
    [Range(1.0, 2_592_000, ErrorMessage = "ROUTER_DECAY_HALF_LIFE_SECONDS (MonkeyCoder:Routing:DecayHalfLifeSeconds) must be between 1 and 2592000.")]
    public double DecayHalfLifeSeconds { get; set; } = 3600;

    /// <summary>
    /// Share of the learned value a model loses for being slower than the fastest eligible model:
    /// LatencyWeight·(1 − fastest/latency). Latencies compared are all observed (per task type when
    /// every candidate has enough, else per model) or all from the catalog, never a mix. Defaults to 0.2.
    /// </summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:LatencyWeight must be between 0 and 1.")]
    public double LatencyWeight { get; set; } = 0.2;

    /// <summary>
    /// Share of the learned value a model loses for costing more than the cheapest eligible model for
    /// this task: CostWeight·(1 − cheapest/cost), from catalog prices and the task's tokens. Defaults to 0.1.
    /// </summary>
    [Range(0.0, 1.0, ErrorMessage = "MonkeyCoder:Routing:CostWeight must be between 0 and 1.")]
    public double CostWeight { get; set; } = 0.1;

    /// <summary>
    /// Observations one caller rating is worth; a rating r of 1–5 is the reward (r − 1)/4 (a
    /// successful attempt is 1, a failure the model caused 0). Defaults to 2.
    /// </summary>
    [Range(0.0, 100, ErrorMessage = "MonkeyCoder:Routing:FeedbackWeight must be between 0 and 100.")]
    public double FeedbackWeight { get; set; } = 2;

    /// <summary>
    /// Smallest answer a candidate must leave room for. A model whose window cannot hold the input
    /// plus this many tokens (or max_tokens when smaller) is left out; one that holds this but not
    /// all of max_tokens gets max_tokens clamped. Defaults to 256.
    /// </summary>
    [Range(1, 100_000, ErrorMessage = "MonkeyCoder:Routing:MinOutputTokens must be between 1 and 100000.")]
    public int MinOutputTokens { get; set; } = 256;

    /// <summary>
    /// Attempts (time-decayed) a model needs before its observed reliability replaces the catalog's,
    /// and successes every candidate needs before observed latencies are compared. Defaults to 5.
    /// </summary>
    [Range(0, 10_000, ErrorMessage = "MonkeyCoder:Routing:MinSamplesForObservedLatency must be between 0 and 10000.")]
    public int MinSamplesForObservedLatency { get; set; } = 5;

    /// <summary>Executions remembered for the Feedback RPC (in-process store). Defaults to 10000.</summary>
    [Range(1, 10_000_000, ErrorMessage = "MonkeyCoder:Routing:ExecutionMemoryCapacity must be between 1 and 10000000.")]
    public int ExecutionMemoryCapacity { get; set; } = 10_000;

    /// <summary>How long an execution can still be rated, in hours. Defaults to 24 h.</summary>
    [Range(1, 24 * 90, ErrorMessage = "MonkeyCoder:Routing:ExecutionMemoryHours must be between 1 and 2160.")]
    public int ExecutionMemoryHours { get; set; } = 24;

    /// <summary>
    /// <c>ROUTER_STATS_SNAPSHOT_PATH</c>: without Redis, a JSON file the in-process statistics are
    /// saved to (every <see cref="SnapshotIntervalSeconds"/> and at shutdown) and loaded from at
    /// start, so learning survives a restart. Opt-in: without it, a restart forgets. Ignored with
    /// REDIS_URL (Redis keeps them). Defaults to none.
    /// </summary>
    public string? SnapshotPath { get; set; }

    /// <summary>How often the statistics snapshot is written, in seconds. Defaults to 60 s.</summary>
    [Range(1, 86_400, ErrorMessage = "MonkeyCoder:Routing:SnapshotIntervalSeconds must be between 1 and 86400.")]
    public int SnapshotIntervalSeconds { get; set; } = 60;

    /// <summary>Seed of the bandit's random numbers; 0 = seeded from the clock. Defaults to 0.</summary>
    public int RandomSeed { get; set; }
}

[OptionsValidator]
internal sealed partial class RoutingOptionsValidator : IValidateOptions<RoutingOptions>;
