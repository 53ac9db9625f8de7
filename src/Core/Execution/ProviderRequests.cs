using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Execution;

/// <summary>Builds the provider-neutral request for one candidate of a plan.</summary>
internal static class ProviderRequests
{
    /// <summary>
    /// The request for one candidate. Without explicit <paramref name="messages"/>, the plan's prompt is
    /// used, with session history trimmed to this model's context window when <paramref name="tokens"/> is given.
    /// </summary>
    public static ProviderRequest For(RoutePlan plan, RouteCandidate candidate, IReadOnlyList<ChatMessage>? messages = null, TokenCounter? tokens = null)
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
            Messages = messages ?? PromptBuilder.Build(plan.Task, plan.Analysis.Persona, model, tokens),
            MaxTokens = maxTokens,
            Temperature = model.Reasoning ? null : plan.Task.Temperature,
            TaskType = plan.Task.TaskType,
            Tools = plan.Task.Tools,
            ToolChoice = plan.Task.ToolChoice,
            ParallelToolCalls = plan.Task.ParallelToolCalls,
            Sampling = plan.Task.Sampling,
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
