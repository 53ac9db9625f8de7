using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// The plan's own reasons, formatted when read: part 0 the task analysis, part 1 which candidate
/// goes first of how many.
/// </summary>
internal sealed class PlanReasons(TaskProfile analysis, RouteCandidate first, int count) : IReasonSource
{
    public const int AnalysisPart = 0;

    public const int FirstPart = 1;

    public string Reason(int part) => part == AnalysisPart
        ? Inv($"{Lower(analysis.Level)} {Lower(analysis.Context)} task (complexity {analysis.Complexity:0.00}) for a {Lower(analysis.Persona)}, {analysis.EstimatedInputTokens} input tokens")
        : Inv($"{first.Model.Key} goes first of {count} (score {first.Score:0.000})");
}
