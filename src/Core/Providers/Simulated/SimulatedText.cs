using System.Globalization;
using System.Text;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers.Simulated;

/// <summary>
/// Deterministic, plausible answers per task type: the same prompt, task type and model always give
/// the same text. Code tasks get a fenced code block in the language the prompt names (Python by
/// default); prose tasks get structured prose. The natural length is 120–420 tokens, decided by
/// the prompt's hash; the provider cuts it at max_tokens.
/// </summary>
internal static class SimulatedText
{
    private static readonly string[] Verbs = ["parse", "validate", "load", "compute", "render", "merge", "normalize", "score", "index", "resolve"];
    private static readonly string[] Nouns = ["input", "records", "config", "result", "items", "tokens", "buffer", "entries", "request", "state"];
    private static readonly string[] ReviewPoints =
    [
        "Naming is consistent, but two helpers share one responsibility and could be merged.",
        "The error path swallows the original exception; keep it as the inner exception.",
        "A loop allocates a new list per iteration; hoist it out and clear it instead.",
        "Input is trusted without validation at the boundary; check lengths and ranges first.",
        "The public surface exposes mutable collections; return read-only views.",
        "Time is read from the system clock directly, which makes the retry logic hard to test.",
        "Magic numbers for timeouts should be named settings with documented defaults.",
        "The happy path is tested, but the empty and oversized inputs are not.",
    ];
    private static readonly string[] ProsePoints =
    [
        "Start from the data flow: where values enter, how they are transformed, and where they leave.",
        "Keep each component responsible for one decision, and make that decision testable in isolation.",
        "Prefer explicit failure over silent defaults: an error that names the setting saves an hour of debugging.",
        "Measure before optimizing; the slowest step is rarely the one that looks slow.",
        "Document the invariants next to the code that keeps them, not in a separate wiki page.",
        "Bound every queue and every retry loop, and say what happens when the bound is reached.",
        "Make the common path fast and the rare path correct; both deserve tests.",
        "Version the contract, and never reuse a field number once it has shipped.",
    ];

    public static int NaturalTokens(uint seed) => 120 + (int)(seed % 300);

    public static string Generate(TaskType taskType, string prompt, string model, int targetTokens, TokenCounter counter)
    {
        var seed = Seed(taskType, prompt, model);
        var random = new Random((int)seed);
        var subject = Subject(prompt);
        var builder = new StringBuilder(2048);
        var isCode = taskType is TaskType.CodeGeneration or TaskType.Refactoring or TaskType.Testing or TaskType.Debugging;
        var language = Language(prompt);

        builder.Append(Intro(taskType, subject)).Append("\n\n");
        if (isCode)
        {
            builder.Append("```").Append(language.Fence).Append('\n');
            var unit = 0;
            // Count each appended piece, not the whole text again per piece (that was quadratic and
            // the largest cost of a zero-latency call); the caller counts the final text exactly.
            var count = counter.Count(builder.ToString());
            while (count < targetTokens - 40)
            {
                var piece = Function(language, subject, random, unit++, taskType) + "\n";
                builder.Append(piece);
                count += counter.Count(piece);
            }

            builder.Append("```\n\n");
            builder.Append(CultureInfo.InvariantCulture, $"Each function does one thing, so it can be tested on its own; the {subject} logic stays free of I/O.\n");
        }
        else
        {
            var pool = taskType is TaskType.CodeReview or TaskType.CodeAnalysis ? ReviewPoints : ProsePoints;
            var point = 0;
            var count = counter.Count(builder.ToString());
            while (count < targetTokens - 20)
            {
                var piece = string.Create(CultureInfo.InvariantCulture,
                    $"{point + 1}. {pool[random.Next(pool.Length)]} For {subject}, this means checking the {Nouns[random.Next(Nouns.Length)]} before you {Verbs[random.Next(Verbs.Length)]} it.\n");
                builder.Append(piece);
                count += counter.Count(piece);
                point++;
            }

            builder.Append("\nIn short: keep it simple, measured and tested.\n");
        }

        return builder.ToString();
    }

    internal static uint Seed(TaskType taskType, string prompt, string model)
    {
        // FNV-1a: stable across processes and platforms, unlike string.GetHashCode.
        var hash = 2166136261u;
        foreach (var c in prompt)
        {
            hash = (hash ^ c) * 16777619u;
        }

        foreach (var c in model)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (hash ^ (uint)taskType) * 16777619u;
    }

    private static string Intro(TaskType taskType, string subject) => taskType switch
    {
        TaskType.CodeGeneration => $"Here is an implementation of {subject}, split into small functions.",
        TaskType.Refactoring => $"Here is {subject} refactored into smaller, testable functions.",
        TaskType.Testing => $"Here are tests for {subject}, covering the normal, empty and invalid cases.",
        TaskType.Debugging => $"The bug in {subject} comes from an unchecked edge case; here is the fixed version.",
        TaskType.CodeReview => $"Review of {subject}:",
        TaskType.CodeAnalysis => $"Analysis of {subject}:",
        TaskType.Documentation => $"# {char.ToUpperInvariant(subject[0])}{subject[1..]}\n\nThis document explains how {subject} works and how to use it.",
        _ => $"About {subject}:",
    };

    private static string Subject(string prompt)
    {
        var words = prompt.Split([' ', '\n', '\t', ',', '.', ':', ';', '"', '\''], StringSplitOptions.RemoveEmptyEntries)
            .Where(w => w.Length > 2 && !w.StartsWith('/'))
            .Take(6)
            .Select(w => w.ToLowerInvariant());
        var subject = string.Join(' ', words);
        return subject.Length == 0 ? "the task" : subject;
    }

    private readonly record struct Lang(string Fence, string Def, string Indent, string Return, string Comment);

    private static Lang Language(string prompt)
    {
        var p = prompt.ToLowerInvariant();
        if (p.Contains("c#", StringComparison.Ordinal) || p.Contains("csharp", StringComparison.Ordinal) || p.Contains(".net", StringComparison.Ordinal))
        {
            return new("csharp", "public static object {0}(object {1})\n{{", "    ", "return", "//");
        }

        if (p.Contains("typescript", StringComparison.Ordinal) || p.Contains("javascript", StringComparison.Ordinal) || p.Contains("node", StringComparison.Ordinal))
        {
            return new("typescript", "export function {0}({1}: unknown): unknown {{", "  ", "return", "//");
        }

        if (p.Contains("rust", StringComparison.Ordinal))
        {
            return new("rust", "pub fn {0}({1}: &str) -> String {{", "    ", "return", "//");
        }

        return new("python", "def {0}({1}):", "    ", "return", "#");
    }

    private static string Function(Lang lang, string subject, Random random, int unit, TaskType taskType)
    {
        var verb = Verbs[(unit + random.Next(Verbs.Length)) % Verbs.Length];
        var noun = Nouns[random.Next(Nouns.Length)];
        var name = taskType == TaskType.Testing ? $"test_{verb}_{noun}" : $"{verb}_{noun}";
        var arg = Nouns[random.Next(Nouns.Length)];
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{lang.Comment} {char.ToUpperInvariant(verb[0])}{verb[1..]} the {noun} for {subject}.\n");
        sb.Append(string.Format(CultureInfo.InvariantCulture, lang.Def, name, arg)).Append('\n');
        var closing = lang.Fence == "python" ? "" : "}\n";
        if (taskType == TaskType.Testing)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{lang.Indent}{lang.Comment} arrange\n");
            sb.Append(CultureInfo.InvariantCulture, $"{lang.Indent}expected = {verb}_{noun}([1, 2, 3])\n");
            sb.Append(CultureInfo.InvariantCulture, $"{lang.Indent}assert expected is not None\n");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"{lang.Indent}if not {arg}:\n{lang.Indent}{lang.Indent}{lang.Return} None\n");
            sb.Append(CultureInfo.InvariantCulture, $"{lang.Indent}{noun} = [x for x in {arg} if x is not None]\n");
            sb.Append(CultureInfo.InvariantCulture, $"{lang.Indent}{lang.Return} sorted({noun})\n");
        }

        sb.Append(closing);
        return sb.ToString();
    }
}
