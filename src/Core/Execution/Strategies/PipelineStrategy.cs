using System.Runtime.CompilerServices;
using System.Text;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Execution.Strategies;

/// <summary>
/// <c>pipeline</c>: sequential personas (architect → developer → reviewer by default). Each step
/// is a <c>single</c> run (retries and failover) whose prompt carries the task and every earlier
/// step's output; the final answer is the last step's. All steps are billed: each is a completion
/// the answer is built from (usage and cost are their sum; the model named is the last step's).
/// Streaming streams the last step only: earlier steps are held back (intermediate plans are not
/// the answer), so the streamed text equals the unary answer. The started event's plan lists the
/// personas; a caller wanting the intermediate steps uses them as separate single calls.
/// </summary>
internal sealed class PipelineStrategy(SingleStrategy single) : IExecutionStrategy
{
    public string Name => ExecutionStrategyNames.Pipeline;

    public async Task<ExecutionOutcome> ExecuteAsync(ExecutionScope scope, CancellationToken cancellationToken)
    {
        var personas = Personas(scope.Plan);
        var steps = new List<(Persona Persona, string Content)>();
        TokenUsage usage = default;
        var cost = 0d;
        ProviderResponse? last = null;
        CatalogModel? lastModel = null;
        var notes = new List<string>();
        for (var i = 0; i < personas.Count; i++)
        {
            var (response, model) = await single.CompleteAsync(scope, Messages(scope.Plan.Task, personas, i, steps), cancellationToken);
            steps.Add((personas[i], response.Content));
            usage += response.Usage;
            cost += model.CostOf(response.Usage);
            last = response;
            lastModel = model;
            notes.Add($"step {i + 1} {PersonaName(personas[i])}: {model.Key}");
        }

        var attempts = scope.Attempts;
        return new ExecutionOutcome
        {
            ExecutionId = scope.ExecutionId,
            Content = last!.Content,
            ToolCalls = last.ToolCalls,
            FinishReason = last.FinishReason,
            Model = lastModel!,
            Usage = usage,
            CostUsd = cost,
            Attempts = attempts,
            ProviderTime = ProviderRequests.SumLatency(attempts),
            Strategy = Name,
            Notes = notes,
        };
    }

    public async IAsyncEnumerable<ExecutionEvent> StreamAsync(ExecutionScope scope, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var personas = Personas(scope.Plan);
        var steps = new List<(Persona Persona, string Content)>();
        TokenUsage usage = default;
        var cost = 0d;
        var notes = new List<string>();
        for (var i = 0; i < personas.Count - 1; i++)
        {
            var (response, model) = await single.CompleteAsync(scope, Messages(scope.Plan.Task, personas, i, steps), cancellationToken);
            steps.Add((personas[i], response.Content));
            usage += response.Usage;
            cost += model.CostOf(response.Usage);
            notes.Add($"step {i + 1} {PersonaName(personas[i])}: {model.Key}");
        }

        var lastStep = personas.Count - 1;
        await foreach (var item in single.StreamAsync(scope, Messages(scope.Plan.Task, personas, lastStep, steps),
            o => o with
            {
                Usage = o.Usage + usage,
                CostUsd = o.CostUsd + cost,
                Strategy = Name,
                Notes = [.. notes, $"step {lastStep + 1} {PersonaName(personas[lastStep])}: {o.Model.Key}"],
            },
            cancellationToken))
        {
            yield return item;
        }
    }

    private static IReadOnlyList<Persona> Personas(RoutePlan plan) =>
        plan.PipelinePersonas.Count > 0 ? plan.PipelinePersonas : [Persona.Architect, Persona.Developer, Persona.Reviewer];

    /// <summary>System prompt of the step's persona; the user turn holds the task, earlier steps' output and this step's job.</summary>
    internal static IReadOnlyList<ChatMessage> Messages(TaskRequest task, IReadOnlyList<Persona> personas, int step, List<(Persona Persona, string Content)> earlier)
    {
        var persona = personas[step];
        var system = PersonaPrompts.SystemPrompt(persona, task.CustomInstructions)
            + $"\n\nYou are step {step + 1} of {personas.Count} in a pipeline ({string.Join(" → ", personas.Select(PersonaName))}).";
        var user = new StringBuilder(PromptBuilder.UserPrompt(task));
        foreach (var (p, content) in earlier)
        {
            user.Append("\n\n## Output of the ").Append(PersonaName(p)).Append(" step\n\n").Append(content);
        }

        user.Append("\n\n## Your step\n\n").Append(Instruction(persona, step == personas.Count - 1, earlier.Count > 0));
        var messages = new List<ChatMessage>(task.History.Count + 2) { new(ChatRole.System, system) };
        messages.AddRange(task.History);
        messages.Add(new ChatMessage(ChatRole.User, user.ToString()));
        return messages;
    }

    private static string Instruction(Persona persona, bool isLast, bool hasEarlier) => persona switch
    {
        Persona.Architect => "Produce a design plan for the task: components, interfaces, data flow and the steps to implement it. Do not write the full implementation.",
        Persona.Developer => hasEarlier ? "Implement the task following the plan above. Give the complete code." : "Implement the task. Give the complete code.",
        Persona.Reviewer when isLast => "Review the work above against the task, fix every defect you find, and give the final, corrected answer in full.",
        Persona.Reviewer => "Review the work above against the task and list the defects and concrete fixes.",
        Persona.Tester => "Write thorough tests for the work above, covering edge cases.",
        Persona.SecurityAnalyst => "Check the work above for vulnerabilities and give the fixes.",
        Persona.PerformanceExpert => "Find the bottlenecks in the work above and give measured improvements.",
        Persona.TechnicalWriter => "Document the work above clearly, with examples.",
        _ => isLast ? "Give the final answer to the task, building on the steps above." : "Do your part of the task, building on the steps above.",
    };

    private static string PersonaName(Persona persona) => persona switch
    {
        Persona.SecurityAnalyst => "security analyst",
        Persona.PerformanceExpert => "performance expert",
        Persona.TechnicalWriter => "technical writer",
        _ => persona.ToString().ToLowerInvariant(),
    };
}
