using System.Collections.Frozen;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Routing;

/// <summary>
/// What the analyzer concluded about one task. EstimatedInputTokens counts the prompt, files and
/// session history; HistoryTokens is the history's share, which is trimmed per model to fit its window.
/// </summary>
internal sealed record TaskProfile(double Complexity, ComplexityLevel Level, ContextType Context, Persona Persona, long EstimatedInputTokens, long HistoryTokens = 0);

/// <summary>
/// Scores a task the way the original router did (core/routing.py): complexity from prompt
/// features, a context type from the task type or keywords, and a persona from slash commands,
/// the request or the context. Pure and allocation-light: it runs on every request.
/// </summary>
internal sealed class TaskAnalyzer(TokenCounter tokens)
{
    private static readonly string[] CodeWords =
        ["function", "class", "method", "def ", "import ", "return", "async", "api", "endpoint", "```", "=>", "{", "sql", "regex"];

    // 28 domain keywords, +0.061 each, capped at 0.30.
    private static readonly string[] DomainWords =
    [
        "algorithm", "architecture", "authentication", "authorization", "cache", "concurrency", "database",
        "distributed", "encryption", "microservice", "migration", "optimization", "parallel", "performance",
        "protocol", "queue", "scalability", "security", "transaction", "kubernetes", "docker", "compiler",
        "parser", "machine learning", "neural", "graph", "streaming", "consensus",
    ];

    private static readonly string[] StepWords =
        ["first", "then", "next", "after that", "finally", "step", "and then", "followed by", "afterwards", "lastly"];

    // Primary keywords count 2, secondary 1 (the original router's weighting); ties go to the earlier context.
    private static readonly (ContextType Context, string[] Primary, string[] Secondary)[] ContextKeywords =
    [
        (ContextType.CodeGeneration, ["implement", "write", "create", "build", "generate", "function", "class"], ["code", "develop", "program", "script", "add"]),
        (ContextType.Review, ["review", "analyze", "assess", "evaluate", "critique", "examine"], ["feedback", "improve", "quality", "issues"]),
        (ContextType.Debugging, ["debug", "fix", "bug", "error", "traceback", "stack trace", "crash"], ["exception", "fault", "fails", "problem"]),
        (ContextType.Architecture, ["architecture", "design", "structure", "pattern", "microservice"], ["system", "component", "framework", "blueprint", "scalab"]),
        (ContextType.Security, ["security", "vulnerab", "exploit", "secure", "audit", "xss", "injection", "csrf"], ["auth", "encrypt", "attack", "secret"]),
        (ContextType.Performance, ["performance", "optimi", "speed", "latency", "efficient", "benchmark"], ["fast", "slow", "bottleneck", "memory"]),
        (ContextType.Documentation, ["document", "explain", "describe", "readme", "docstring"], ["docs", "guide", "manual", "comment", "specification"]),
        (ContextType.Testing, ["test", "unit test", "coverage", "verify", "pytest", "xunit"], ["assert", "mock", "spec", "validate"]),
    ];

    private static readonly FrozenDictionary<string, Persona> SlashPersonas = new Dictionary<string, Persona>
    {
        ["/dev"] = Persona.Developer,
        ["/arch"] = Persona.Architect,
        ["/review"] = Persona.Reviewer,
        ["/sec"] = Persona.SecurityAnalyst,
        ["/perf"] = Persona.PerformanceExpert,
        ["/test"] = Persona.Tester,
        ["/docs"] = Persona.TechnicalWriter,
        // The original's long forms.
        ["/develop"] = Persona.Developer,
        ["/architect"] = Persona.Architect,
        ["/security"] = Persona.SecurityAnalyst,
        ["/performance"] = Persona.PerformanceExpert,
        ["/testing"] = Persona.Tester,
        ["/documentation"] = Persona.TechnicalWriter,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, ContextType> SlashContexts = new Dictionary<string, ContextType>
    {
        ["/dev"] = ContextType.CodeGeneration,
        ["/arch"] = ContextType.Architecture,
        ["/review"] = ContextType.Review,
        ["/sec"] = ContextType.Security,
        ["/perf"] = ContextType.Performance,
        ["/test"] = ContextType.Testing,
        ["/docs"] = ContextType.Documentation,
        ["/develop"] = ContextType.CodeGeneration,
        ["/architect"] = ContextType.Architecture,
        ["/security"] = ContextType.Security,
        ["/performance"] = ContextType.Performance,
        ["/testing"] = ContextType.Testing,
        ["/documentation"] = ContextType.Documentation,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    // Per persona (indexed by its value), the token count of its system prompt without custom instructions; 0 = not yet counted.
    private readonly int[] _systemPromptTokens = new int[16];

    /// <summary>The slash commands the service understands.</summary>
    public static IReadOnlyCollection<string> KnownSlashCommands => SlashPersonas.Keys;

    public TaskProfile Analyze(TaskRequest task)
    {
        var complexity = Complexity(task.Prompt, task.Files.Count);
        var context = ContextOf(task);
        var persona = PersonaOf(task, context);
        // What the model will hold: the persona's system prompt (with any custom instructions), the
        // prompt and its files, the history; about 4 tokens of chat framing per message. Upper bounds
        // (exact once the vocabulary is loaded): the window check only needs to err high.
        long inputTokens = SystemPromptTokens(persona, task.CustomInstructions) + 4 + tokens.UpperBound(task.Prompt) + 4;
        foreach (var file in task.Files)
        {
            inputTokens += tokens.UpperBound(file.Content) + 8;
        }

        long historyTokens = 0;
        foreach (var turn in task.History)
        {
            historyTokens += tokens.UpperBound(turn.Content) + 4;
        }

        return new TaskProfile(complexity, LevelOf(complexity), context, persona, inputTokens + historyTokens, historyTokens);
    }

    /// <summary>A persona's system prompt in tokens; without custom instructions it is fixed text, counted once.</summary>
    private int SystemPromptTokens(Persona persona, string customInstructions)
    {
        if (!string.IsNullOrEmpty(customInstructions))
        {
            return tokens.UpperBound(PersonaPrompts.SystemPrompt(persona, customInstructions));
        }

        var index = (int)persona;
        if ((uint)index < (uint)_systemPromptTokens.Length && _systemPromptTokens[index] is > 0 and var cached)
        {
            return cached;
        }

        var text = PersonaPrompts.SystemPrompt(persona, customInstructions);
        if (!tokens.IsLoaded || (uint)index >= (uint)_systemPromptTokens.Length)
        {
            return tokens.UpperBound(text);
        }

        return _systemPromptTokens[index] = tokens.Count(text);
    }

    /// <summary>Complexity in [0, 1] from prompt features, as the original router computed it.</summary>
    public static double Complexity(string prompt, int fileCount)
    {
        var text = prompt.ToLowerInvariant();
        var score = 0d;
        if (CodeWords.Any(w => text.Contains(w, StringComparison.Ordinal)))
        {
            score += 0.18;
        }

        var words = CountWords(text);
        score += words switch
        {
            > 100 => 0.3,
            > 50 => 0.2,
            > 20 => 0.1,
            > 10 => 0.05,
            _ => 0,
        };

        var domain = DomainWords.Count(w => text.Contains(w, StringComparison.Ordinal));
        score += Math.Min(domain * 0.061, 0.30);

        // Step words match whole words only: "then" must not match "authentication".
        var padded = WordsOnly(text);
        var steps = StepWords.Count(w => padded.Contains($" {w} ", StringComparison.Ordinal));
        score += steps >= 2 ? 0.22 : steps == 1 ? 0.11 : 0;

        score += fileCount switch
        {
            > 8 => 0.28,
            > 5 => 0.18,
            > 1 => 0.09,
            _ => 0,
        };

        return Math.Clamp(score, 0, 1);
    }

    public static ComplexityLevel LevelOf(double complexity) => complexity switch
    {
        >= 0.8 => ComplexityLevel.Critical,
        >= 0.6 => ComplexityLevel.Complex,
        >= 0.4 => ComplexityLevel.Moderate,
        >= 0.2 => ComplexityLevel.Simple,
        _ => ComplexityLevel.Trivial,
    };

    private static ContextType ContextOf(TaskRequest task)
    {
        foreach (var command in task.SlashCommands)
        {
            if (SlashContexts.TryGetValue(command, out var fromCommand))
            {
                return fromCommand;
            }
        }

        var fromType = task.TaskType switch
        {
            TaskType.CodeGeneration => ContextType.CodeGeneration,
            TaskType.CodeReview => ContextType.Review,
            TaskType.Documentation => ContextType.Documentation,
            TaskType.Testing => ContextType.Testing,
            TaskType.Debugging => ContextType.Debugging,
            TaskType.Refactoring => ContextType.CodeGeneration,
            _ => ContextType.Unspecified,
        };
        if (fromType != ContextType.Unspecified)
        {
            return fromType;
        }

        var text = task.Prompt.ToLowerInvariant();
        var best = ContextType.General;
        var bestScore = 0;
        foreach (var (context, primary, secondary) in ContextKeywords)
        {
            var score = 2 * primary.Count(k => text.Contains(k, StringComparison.Ordinal))
                + secondary.Count(k => text.Contains(k, StringComparison.Ordinal));
            if (score > bestScore)
            {
                best = context;
                bestScore = score;
            }
        }

        return best;
    }

    private static Persona PersonaOf(TaskRequest task, ContextType context)
    {
        foreach (var command in task.SlashCommands)
        {
            if (SlashPersonas.TryGetValue(command, out var persona))
            {
                return persona;
            }
        }

        if (task.Persona != Persona.Unspecified)
        {
            return task.Persona;
        }

        return context switch
        {
            ContextType.Architecture => Persona.Architect,
            ContextType.Security => Persona.SecurityAnalyst,
            ContextType.Testing => Persona.Tester,
            ContextType.Documentation => Persona.TechnicalWriter,
            ContextType.Review => Persona.Reviewer,
            ContextType.Performance => Persona.PerformanceExpert,
            _ => Persona.Developer,
        };
    }

    private static string WordsOnly(string text)
    {
        return string.Create(text.Length + 2, text, static (span, t) =>
        {
            span[0] = ' ';
            span[^1] = ' ';
            for (var i = 0; i < t.Length; i++)
            {
                span[i + 1] = char.IsLetterOrDigit(t[i]) ? t[i] : ' ';
            }
        });
    }

    private static int CountWords(string text)
    {
        var count = 0;
        var inWord = false;
        foreach (var c in text)
        {
            var isSpace = char.IsWhiteSpace(c);
            if (!isSpace && !inWord)
            {
                count++;
            }

            inWord = !isSpace;
        }

        return count;
    }
}
