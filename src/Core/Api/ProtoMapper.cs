using Google.Protobuf.WellKnownTypes;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>Maps Core's runtime models to contract messages. One place, so every edge answers alike.</summary>
internal static class ProtoMapper
{
    public static ExecutionPlan ToProto(RoutePlan plan)
    {
        var proto = new ExecutionPlan
        {
            Strategy = plan.Strategy,
            Analysis = new TaskAnalysis
            {
                Complexity = Math.Round(plan.Analysis.Complexity, 3),
                Level = plan.Analysis.Level,
                ContextType = plan.Analysis.Context,
                Persona = plan.Analysis.Persona,
                EstimatedInputTokens = plan.Analysis.EstimatedInputTokens,
            },
            Confidence = plan.Confidence,
            MaxTokens = plan.Task.MaxTokens,
            CollapseStrategy = plan.Strategy == Strategy.Quantum ? plan.CollapseStrategy : CollapseStrategy.Unspecified,
            ParallelVariants = plan.Strategy == Strategy.Quantum ? plan.ParallelVariants : 0,
        };
        proto.Reasons.AddRange(plan.Reasons);
        if (plan.Strategy == Strategy.Pipeline)
        {
            proto.PipelinePersonas.AddRange(plan.PipelinePersonas);
        }

        foreach (var candidate in plan.Candidates)
        {
            var c = new Candidate { Provider = candidate.Model.Provider, Model = candidate.Model.Id, Score = candidate.Score };
            c.Reasons.AddRange(candidate.Reasons);
            foreach (var (name, value) in candidate.Breakdown)
            {
                c.ScoreBreakdown[name] = value;
            }
            proto.Candidates.Add(c);
        }

        return proto;
    }

    public static V1.Usage ToProto(TokenUsage usage, double cost) => new()
    {
        InputTokens = usage.InputTokens,
        OutputTokens = usage.OutputTokens,
        TotalTokens = usage.TotalTokens,
        CostUsd = Math.Round(cost, 8),
        Estimated = usage.Estimated,
        CachedInputTokens = usage.CachedInputTokens,
        CacheWriteInputTokens = usage.CacheWriteInputTokens,
    };

    public static FunctionToolCall ToProto(Providers.ToolCall call) => new() { Id = call.Id, Name = call.Name, ArgumentsJson = call.ArgumentsJson };

    public static FunctionToolCallDelta ToProto(Providers.ToolCallDelta delta) => new()
    {
        Index = delta.Index,
        Id = delta.Id ?? "",
        Name = delta.Name ?? "",
        ArgumentsDelta = delta.ArgumentsDelta ?? "",
    };

    public static Timing ToProto(TimeSpan total, ExecutionOutcome outcome)
    {
        var overhead = total - outcome.ProviderTime;
        return new Timing
        {
            Total = Duration.FromTimeSpan(total),
            TimeToFirstToken = Duration.FromTimeSpan(outcome.TimeToFirstToken ?? total),
            Provider = Duration.FromTimeSpan(outcome.ProviderTime),
            Overhead = Duration.FromTimeSpan(overhead < TimeSpan.Zero ? TimeSpan.Zero : overhead),
        };
    }

    public static IEnumerable<Attempt> ToProto(IReadOnlyList<AttemptRecord> attempts) => attempts.Select(a => new Attempt
    {
        Provider = a.Model.Provider,
        Model = a.Model.Id,
        Outcome = a.Outcome,
        Latency = Duration.FromTimeSpan(a.Latency),
        TimeToFirstToken = a.TimeToFirstToken is { } t ? Duration.FromTimeSpan(t) : null,
        Usage = ToProto(a.Usage, a.Model.CostOf(a.Usage)),
        ErrorDetail = a.ErrorDetail ?? "",
        DeliveredTokens = a.DeliveredTokens,
    });

    public static ExecuteResponse ToResponse(TaskRequest task, ExecutionOutcome outcome, TimeSpan total)
    {
        var response = new ExecuteResponse
        {
            ExecutionId = outcome.ExecutionId,
            TaskId = task.TaskId,
            Status = ExecutionStatus.Completed,
            Content = outcome.Content,
            FinishReason = outcome.FinishReason,
            Provider = outcome.Model.Provider,
            Model = outcome.Model.Id,
            Usage = ToProto(outcome.Usage, outcome.CacheHit ? 0 : outcome.CostUsd),
            Timing = ToProto(total, outcome),
            CacheHit = outcome.CacheHit,
            SessionId = task.SessionId,
            Recovered = outcome.Recovered,
            Billed = ToProto(outcome.Billed),
        };
        response.Attempts.AddRange(ToProto(outcome.Attempts));
        response.ToolCalls.AddRange(outcome.ToolCalls.Select(ToProto));
        return response;
    }

    public static V1.Usage ToProto(Usage.BilledUsage billed) => new()
    {
        InputTokens = billed.InputTokens,
        OutputTokens = billed.OutputTokens,
        TotalTokens = billed.TotalTokens,
        CostUsd = billed.CostUsd,
    };

    public static StreamFinal ToFinal(ExecutionOutcome outcome, TimeSpan total)
    {
        var final = new StreamFinal
        {
            ExecutionId = outcome.ExecutionId,
            Status = ExecutionStatus.Completed,
            FinishReason = outcome.FinishReason,
            Provider = outcome.Model.Provider,
            Model = outcome.Model.Id,
            Usage = ToProto(outcome.Usage, outcome.CacheHit ? 0 : outcome.CostUsd),
            Timing = ToProto(total, outcome),
            CacheHit = outcome.CacheHit,
            Recovered = outcome.Recovered,
            Billed = ToProto(outcome.Billed),
        };
        final.Attempts.AddRange(ToProto(outcome.Attempts));
        final.ToolCalls.AddRange(outcome.ToolCalls.Select(ToProto));
        return final;
    }

    public static Model ToProto(CatalogModel model)
    {
        var proto = new Model
        {
            Id = model.Id,
            Provider = model.Provider,
            DisplayName = model.DisplayName,
            ContextWindow = model.ContextWindow,
            MaxOutputTokens = model.MaxOutputTokens,
            InputPricePerMillion = model.InputPricePerMillion,
            OutputPricePerMillion = model.OutputPricePerMillion,
            Capabilities = new ModelCapabilities
            {
                CodeGeneration = model.Capabilities.CodeGeneration,
                Reasoning = model.Capabilities.Reasoning,
                Reliability = model.Capabilities.Reliability,
            },
            TypicalLatency = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(model.TypicalLatencyMs)),
            Status = model.IsDeprecated ? ModelStatus.Deprecated : ModelStatus.Active,
            Replacement = model.Replacement ?? "",
            Reasoning = model.Reasoning,
        };
        proto.Aliases.AddRange(model.Aliases);
        proto.Fallbacks.AddRange(model.Fallbacks);
        return proto;
    }
}
