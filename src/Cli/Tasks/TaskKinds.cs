using MonkeyCoder.V1;

namespace MonkeyCoder.Cli.Tasks;

/// <summary>One task command: its name, the task type and persona it sends, its help text.</summary>
internal sealed record TaskKind(string Name, TaskType TaskType, Persona Persona, string Description);

internal static class TaskKinds
{
    public static readonly IReadOnlyList<TaskKind> All =
    [
        new("implement", TaskType.CodeGeneration, Persona.Developer, "Write code for a task (code generation, developer)"),
        new("analyze", TaskType.CodeAnalysis, Persona.Reviewer, "Analyze code: structure, risks, complexity (code analysis, reviewer)"),
        new("build", TaskType.CodeGeneration, Persona.Architect, "Design and build a larger piece (code generation, architect)"),
        new("test", TaskType.Testing, Persona.Tester, "Write tests (testing, tester)"),
        new("review", TaskType.CodeReview, Persona.Reviewer, "Review code or a change (code review, reviewer)"),
        new("docs", TaskType.Documentation, Persona.TechnicalWriter, "Write documentation (documentation, technical writer)"),
        new("debug", TaskType.Debugging, Persona.Developer, "Find and fix a bug (debugging, developer)"),
        new("refactor", TaskType.Refactoring, Persona.Developer, "Restructure code without changing behaviour (refactoring, developer)"),
    ];

    /// <summary>Task names `route --task` accepts: the commands above plus chat.</summary>
    public static IEnumerable<string> RouteNames => All.Select(k => k.Name).Append("chat");

    public static TaskKind Chat { get; } = new("chat", TaskType.Chat, Persona.Unspecified, "Interactive chat");

    public static TaskKind Find(string name) =>
        name == "chat" ? Chat : All.First(k => k.Name == name);
}
