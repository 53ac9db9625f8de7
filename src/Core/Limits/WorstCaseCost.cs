using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// The most a plan can cost, for the budget hold taken before it runs. Each attempt of a candidate
/// costs at most its input (system prompt of the dearest persona, session history, prompt and
/// files, counted with the token counter; a pipeline step also carries the earlier steps' answers)
/// plus its max output tokens, at that candidate's prices. The strategy's fan-out (quantum
/// variants, pipeline steps) times the retries per candidate gives the attempts each candidate may
/// get; <see cref="ExecutionOptions.MaxAttemptsPerExecution"/> caps the total, so the hold is the
/// sum of that many dearest attempts.
/// </summary>
internal sealed class WorstCaseCost(IOptions<ExecutionOptions> execution, TokenCounter? counter = null)
{
    private readonly TokenCounter _tokens = counter ?? new TokenCounter();

    // Without custom instructions every persona's system prompt is a constant: counted once, not per
    // call (it was 8 of the 10 counts of each budget hold: ~3 % of the REST host's CPU per call).
    private int _plainCustomPrompt = -1;
    private int _plainLongestPrompt = -1;

    public long Micros(RoutePlan plan)
    {
        var options = execution.Value;
        var steps = plan.Strategy == Strategy.Pipeline ? Math.Max(1, plan.PipelinePersonas.Count == 0 ? 3 : plan.PipelinePersonas.Count) : 1;
        var fanOut = plan.Strategy switch
        {
            Strategy.Quantum => Math.Max(1, plan.ParallelVariants),
            Strategy.Pipeline => steps,
            _ => 1,
        };
        // Counted once: the messages with one persona, then the longest persona system prompt instead of its.
        var custom = plan.Task.CustomInstructions;
        var (customPrompt, longestPrompt) = SystemPromptTokens(custom);
        var baseline = _tokens.Count(PromptBuilder.Build(plan.Task, Persona.Custom)) - customPrompt;
        long prompt = baseline + longestPrompt;
        var perCandidate = fanOut * (1 + options.MaxRetriesPerCandidate);
        var attempts = new List<double>();
        foreach (var candidate in plan.Candidates)
        {
            var output = candidate.MaxTokens > 0 ? candidate.MaxTokens : plan.Task.MaxTokens;
            // A later pipeline step reads the earlier steps' answers.
            var input = prompt + ((long)(steps - 1) * output);
            var cost = ((input * candidate.Model.InputPricePerMillion) + (output * candidate.Model.OutputPricePerMillion)) / 1_000_000d;
            attempts.AddRange(Enumerable.Repeat(cost, perCandidate));
        }

        var worst = attempts.OrderDescending().Take(options.MaxAttemptsPerExecution).Sum();
        // Rounded up, plus one micro-dollar per attempt for the rounding of each settled attempt.
        return (long)Math.Ceiling(worst * 1_000_000d) + Math.Min(attempts.Count, options.MaxAttemptsPerExecution);
    }

    /// <summary>The tokens of the custom persona's system prompt and of the longest persona's, with <paramref name="custom"/> appended.</summary>
    private (int Custom, int Longest) SystemPromptTokens(string custom)
    {
        if (!string.IsNullOrWhiteSpace(custom))
        {
            return Count(custom);
        }

        // Exact counts (Count waits for the vocabulary), so a value once stored never changes; racing callers store the same one.
        if (Volatile.Read(ref _plainLongestPrompt) is var longest and >= 0)
        {
            return (Volatile.Read(ref _plainCustomPrompt), longest);
        }

        var counted = Count(custom);
        Volatile.Write(ref _plainCustomPrompt, counted.Custom);
        Volatile.Write(ref _plainLongestPrompt, counted.Longest);
        return counted;

        (int Custom, int Longest) Count(string instructions)
        {
            var longestCount = 0;
            foreach (var persona in Enum.GetValues<Persona>())
            {
                longestCount = Math.Max(longestCount, _tokens.Count(PersonaPrompts.SystemPrompt(persona, instructions)));
            }

            return (_tokens.Count(PersonaPrompts.SystemPrompt(Persona.Custom, instructions)), longestCount);
        }
    }
}
