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
    /// Its reasons (<see cref="Reasons"/>, or parts 0 to <see cref="ReasonCount"/> − 1) are formatted when read.
    /// </summary>
    internal sealed record Result(string? Rejection, long Input, int OutputCap, int UnclampedOutput, double Fit) : IReasonSource
    {
        internal CatalogModel? Model { get; init; }

        /// <summary>max_tokens was capped at the model's output limit.</summary>
        internal bool Capped { get; init; }

        /// <summary>The output before the window clamp, when the window clamped it (else 0).</summary>
        internal int ClampedFrom { get; init; }

        public int ReasonCount => Rejection is null ? (Capped ? 2 : 1) : 0;

        public IReadOnlyList<string> Reasons
        {
            get
            {
                var reasons = new List<string>(ReasonCount);
                for (var part = 0; part < ReasonCount; part++)
                {
                    reasons.Add(Reason(part));
                }

                return reasons;
            }
        }

        public string Reason(int part)
        {
            var model = Model!;
            if (Capped && part == 0)
            {
                return Inv($"max_tokens capped at the model's output limit of {model.MaxOutputTokens}");
            }

            return ClampedFrom > 0
                ? Inv($"max_tokens clamped from {ClampedFrom} to {OutputCap} to fit its {model.ContextWindow}-token window with {Input} input tokens")
                : Inv($"fits its {model.ContextWindow}-token window ({Input + OutputCap} needed)");
        }
    }

    public Result Evaluate(CatalogModel model, TaskProfile analysis, int requested)
    {
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
                input, 0, unclamped, 0) { Model = model };
        }

        double fit = 1;
        var clampedFrom = 0;
        if (room < outputCap)
        {
            fit = weights.ClampedFitFloor + (1 - weights.ClampedFitFloor) * room / outputCap;
            clampedFrom = outputCap;
            outputCap = (int)room;
        }

        return new Result(null, input, outputCap, unclamped, fit) { Model = model, Capped = unclamped < requested, ClampedFrom = clampedFrom };
    }
}
