using System.Collections.Concurrent;
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

    /// <summary>Characters of custom instructions the count cache may hold (~8 MB) before it starts over.</summary>
    internal int CacheMaxChars { get; init; } = 4_000_000;

    // The system prompts' counts by custom instructions. OpenAI and Anthropic clients send theirs
    // as the system message (a coding agent's runs to tens of kilobytes), the same on every call:
    // counting all 9 persona prompts with it on each budget hold was the REST host's largest
    // single cost (7.7 % of its CPU samples with a one-line system message). Exact counts, so a
    // stored value never changes; the cache only bounds how many instructions it remembers.
    private readonly ConcurrentDictionary<string, (int Custom, int Longest)> _systemPrompts = new(StringComparer.Ordinal);
    private long _cachedChars;

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

    /// <summary>The tokens of the custom persona's system prompt and of the longest persona's, with <paramref name="instructions"/> appended.</summary>
    private (int Custom, int Longest) SystemPromptTokens(string? instructions)
    {
        var custom = instructions ?? "";
        if (_systemPrompts.TryGetValue(custom, out var known))
        {
            return known;
        }

        var longest = 0;
        foreach (var persona in Enum.GetValues<Persona>())
        {
            longest = Math.Max(longest, _tokens.Count(PersonaPrompts.SystemPrompt(persona, custom)));
        }

        var counted = (_tokens.Count(PersonaPrompts.SystemPrompt(Persona.Custom, custom)), longest);
        if (Interlocked.Add(ref _cachedChars, custom.Length + 1) > CacheMaxChars)
        {
            // Many distinct instructions: start over rather than track which are still in use.
            _systemPrompts.Clear();
            Interlocked.Exchange(ref _cachedChars, custom.Length + 1);
        }

        _systemPrompts.TryAdd(custom, counted);
        return counted;
    }

    /// <summary>How many distinct custom instructions the count cache holds now (for tests).</summary>
    internal int CachedInstructions => _systemPrompts.Count;
}
