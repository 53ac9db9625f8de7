using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Execution;

/// <summary>Builds the provider-neutral request for one candidate of a plan.</summary>
public static class ProviderRequests
{
    public static ProviderRequest For(RoutePlan plan, RouteCandidate candidate, IReadOnlyList<ChatMessage>? messages = null)
    {
        var model = candidate.Model;
        var maxTokens = candidate.MaxTokens > 0 ? candidate.MaxTokens : plan.Task.MaxTokens;
        if (model.MaxOutputTokens > 0)
        {
            maxTokens = Math.Min(maxTokens, model.MaxOutputTokens);
        }

        return new ProviderRequest
        {
            Model = model,
            Messages = messages ?? PromptBuilder.Build(plan.Task, plan.Analysis.Persona),
            MaxTokens = maxTokens,
            Temperature = model.Reasoning ? null : plan.Task.Temperature,
            TaskType = plan.Task.TaskType,
        };
    }

    public static TimeSpan SumLatency(IReadOnlyList<AttemptRecord> attempts)
    {
        var total = TimeSpan.Zero;
        foreach (var attempt in attempts)
        {
            total += attempt.Latency;
        }

        return total;
    }
}
