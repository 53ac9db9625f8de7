using MonkeyCoder.Core.Providers;
using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Hard constraint and context fit: the input and a minimal answer must fit the model's window
/// (else the model is left out); max_tokens is capped at the model's output limit and clamped to
/// what the window leaves, which lowers the fit to floor + (1 − floor)·room/requested.
/// </summary>
internal sealed class ContextWindowCheck(int minOutputTokens, RoutingScoringOptions weights)
{
    /// <summary>
    /// What the window allows. <see cref="Rejection"/> is set when the model cannot take the task;
    /// <see cref="UnclampedOutput"/> is the output before the window clamp (costs are compared at it).
    /// </summary>
    internal sealed record Result(string? Rejection, long Input, int OutputCap, int UnclampedOutput, double Fit, IReadOnlyList<string> Reasons);

    public Result Evaluate(CatalogModel model, TaskProfile analysis, int requested)
    {
        var reasons = new List<string>();
        var outputCap = model.MaxOutputTokens > 0 ? Math.Min(requested, model.MaxOutputTokens) : requested;
        var unclamped = outputCap;
        // Session history is trimmed (oldest turns first) to what this window leaves beside the prompt
        // and the answer (PromptBuilder), so only the part that fits counts against the model.
        var fixedInput = analysis.EstimatedInputTokens - analysis.HistoryTokens;
        var input = fixedInput + Math.Min(analysis.HistoryTokens, Math.Max(0, model.ContextWindow - fixedInput - outputCap));
        var room = model.ContextWindow - input;
        var minimum = Math.Min(minOutputTokens, requested);
        if (room < minimum)
        {
            return new Result(
                Inv($"{model.Key}: input of {input} tokens leaves {Math.Max(room, 0)} of its {model.ContextWindow}-token window, less than the {minimum} an answer needs"),
                input, 0, unclamped, 0, reasons);
        }

        if (outputCap < requested)
        {
            reasons.Add(Inv($"max_tokens capped at the model's output limit of {model.MaxOutputTokens}"));
        }

        double fit = 1;
        if (room < outputCap)
        {
            fit = weights.ClampedFitFloor + (1 - weights.ClampedFitFloor) * room / outputCap;
            reasons.Add(Inv($"max_tokens clamped from {outputCap} to {room} to fit its {model.ContextWindow}-token window with {input} input tokens"));
            outputCap = (int)room;
        }
        else
        {
            reasons.Add(Inv($"fits its {model.ContextWindow}-token window ({input + outputCap} needed)"));
        }

        return new Result(null, input, outputCap, unclamped, fit, reasons);
    }
}
