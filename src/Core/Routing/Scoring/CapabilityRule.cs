using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing.Learning;
using MonkeyCoder.V1;
using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Capability, the original router's formula:
/// wcg·min(cg/req,1) + wr·min(reasoning/req,1) + wfit·window fit + wrel·min(reliability/req,1)
/// (0.3/0.3/0.2/0.2), with reliability observed once a model has enough recent attempts (on this
/// task type, else over every task type). Requirements scale with the task's complexity level and
/// are raised by its context and persona (<see cref="Requirement(ComplexityLevel, ContextType, Persona)"/>).
/// </summary>
internal sealed class CapabilityRule(int minSamples, RoutingScoringOptions weights)
{
    /// <summary>
    /// <see cref="Prior"/> takes the catalog's reliability instead of the observed one (the bandit's
    /// prior); <see cref="Summary"/> is the candidate's first reason (part 0), <see cref="Observed"/> the one
    /// about observed reliability when it replaced the catalog's (part 1). Both are formatted when read.
    /// </summary>
    internal sealed record Result(double Capability, double Prior, double CodeGeneration, double Reasoning, double ContextFit, double Reliability) : IReasonSource
    {
        internal required ModelScores Catalog { get; init; }

        internal required TaskProfile Analysis { get; init; }

        internal required (double CodeGeneration, double Reasoning, double Reliability) Requirement { get; init; }

        /// <summary>The statistics whose reliability replaced the catalog's, or null.</summary>
        internal ModelStats? ObservedStats { get; init; }

        /// <summary>The task type <see cref="ObservedStats"/> is on, or null when over every task type.</summary>
        internal string? ObservedTaskClass { get; init; }

        /// <summary>The observed reliability (1 − failures/attempts) when <see cref="ObservedStats"/> is set.</summary>
        internal double ObservedReliability { get; init; }

        public string Summary => Reason(0);

        public string? Observed => ObservedStats is null ? null : Reason(1);

        public string Reason(int part)
        {
            var caps = Catalog;
            if (part == 0)
            {
                return Inv($"capability {Capability:0.000}: {caps.CodeGeneration:0.00} code / {caps.Reasoning:0.00} reasoning against the {Lower(Analysis.Level)} {Lower(Analysis.Context)} requirement {Requirement.CodeGeneration:0.00}/{Requirement.Reasoning:0.00}");
            }

            var observed = ObservedStats!;
            var scope = ObservedTaskClass is { } taskClass ? "on " + taskClass : "over all task types";
            return Inv($"observed reliability {ObservedReliability:0.00} over {observed.Attempts:0.#} recent attempts {scope} (catalog {caps.Reliability:0.00}){(observed.LastError.Length > 0 ? "; last error " + observed.LastError : "")}");
        }
    }

    public Result Evaluate(CatalogModel model, TaskProfile analysis, double contextFit, ModelStats stats, ModelStats taskStats, string taskClass) =>
        Evaluate(model, analysis, Requirement(analysis.Level, analysis.Context, analysis.Persona), contextFit, stats, taskStats, taskClass);

    /// <summary>As above with the task's requirement computed once per plan.</summary>
    public Result Evaluate(CatalogModel model, TaskProfile analysis, (double CodeGeneration, double Reasoning, double Reliability) requirement, double contextFit,
        ModelStats stats, ModelStats taskStats, string taskClass)
    {
        // Reliability on this task type when it has enough recent attempts, else over every task type.
        var observed = taskStats.Attempts >= Math.Max(1, minSamples) ? taskStats : stats;
        var caps = model.Capabilities;
        var codeGen = Math.Min(caps.CodeGeneration / requirement.CodeGeneration, 1);
        var reasoning = Math.Min(caps.Reasoning / requirement.Reasoning, 1);
        var reliabilityValue = caps.Reliability;
        ModelStats? observedStats = null;
        if (observed.Attempts >= minSamples && observed.Attempts > 0)
        {
            reliabilityValue = 1 - observed.Failures / observed.Attempts;
            observedStats = observed;
        }

        var reliability = Math.Min(reliabilityValue / requirement.Reliability, 1);
        var capability = weights.CodeGenerationWeight * codeGen + weights.ReasoningWeight * reasoning + weights.ContextFitWeight * contextFit + weights.ReliabilityWeight * reliability;
        // The bandit's prior takes the catalog's reliability: the observed failures are already
        // evidence in its posterior, and a failure ratio of time-decayed counts does not fade
        // while the model goes unused, so counting them in the prior too would keep a recovered
        // model down until exploration alone had diluted the ratio.
        var prior = capability + weights.ReliabilityWeight * (Math.Min(caps.Reliability / requirement.Reliability, 1) - reliability);
        return new Result(capability, prior, codeGen, reasoning, contextFit, reliability)
        {
            Catalog = caps,
            Analysis = analysis,
            Requirement = requirement,
            ObservedStats = observedStats,
            ObservedTaskClass = ReferenceEquals(observed, taskStats) ? taskClass : null,
            ObservedReliability = reliabilityValue,
        };
    }

    /// <summary>Writes the capability's parts into a candidate's breakdown.</summary>
    public static void Record(Result result, Dictionary<string, double> breakdown)
    {
        breakdown["capability"] = Round(result.Capability);
        breakdown["code_generation"] = Round(result.CodeGeneration);
        breakdown["reasoning"] = Round(result.Reasoning);
        breakdown["context_fit"] = Round(result.ContextFit);
        breakdown["reliability"] = Round(result.Reliability);
    }

    /// <summary>Capability requirements by complexity level, as the original router scaled them.</summary>
    public static (double CodeGeneration, double Reasoning, double Reliability) Requirement(ComplexityLevel level) => level switch
    {
        ComplexityLevel.Critical => (0.95, 0.95, 0.95),
        ComplexityLevel.Complex => (0.85, 0.85, 0.9),
        ComplexityLevel.Moderate => (0.7, 0.7, 0.85),
        ComplexityLevel.Simple => (0.55, 0.5, 0.8),
        _ => (0.4, 0.3, 0.75),
    };

    /// <summary>
    /// Requirements by complexity, raised where the context or persona needs one capability more,
    /// as the original router did (code generation → code 0.9, architecture → reasoning 0.95,
    /// security → reliability 0.95; an architect persona → reasoning 0.9). The code and reasoning
    /// floors scale with the original's complexity multiplier (0.6 trivial … 1.0 critical), so a
    /// trivial task still goes to a cheap model; reliability for security work does not scale.
    /// </summary>
    public static (double CodeGeneration, double Reasoning, double Reliability) Requirement(ComplexityLevel level, ContextType context, Persona persona)
    {
        var (code, reasoning, reliability) = Requirement(level);
        var m = level switch
        {
            ComplexityLevel.Critical => 1.0,
            ComplexityLevel.Complex => 0.9,
            ComplexityLevel.Moderate => 0.8,
            ComplexityLevel.Simple => 0.7,
            _ => 0.6,
        };
        if (context is ContextType.CodeGeneration or ContextType.Debugging)
        {
            code = Math.Max(code, 0.9 * m);
        }

        if (context == ContextType.Architecture)
        {
            reasoning = Math.Max(reasoning, 0.95 * m);
        }
        else if (persona == Persona.Architect || context == ContextType.Performance)
        {
            reasoning = Math.Max(reasoning, 0.9 * m);
        }

        if (context == ContextType.Security || persona == Persona.SecurityAnalyst)
        {
            reliability = Math.Max(reliability, 0.95);
        }

        return (code, reasoning, reliability);
    }
}
