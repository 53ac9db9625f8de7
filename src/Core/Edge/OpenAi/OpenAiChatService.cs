using System.Runtime.CompilerServices;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>
/// Chat completions on Monkey Coder: plan (the router, with a named model and the request's
/// <c>fallbacks</c> as pins), then the same <see cref="TaskExecutor"/> the gRPC API uses (cache,
/// failover, usage events), then OpenAI's response shapes. The response's <c>model</c> is the
/// model that actually answered.
/// </summary>
internal sealed class OpenAiChatService(ITaskRouter router, ModelCatalog catalog, TaskExecutor executor, TimeProvider time)
{
    public async Task<ChatCompletion> CompleteAsync(ChatCall call, CallerIdentity caller, CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(call, caller.AllowedModels, cancellationToken);
        await call.Charge.ReserveAsync(plan, cancellationToken);
        var executionId = Api.RouterApi.NewExecutionId();
        var outcome = await executor.ExecuteAsync(plan, executionId, caller, cancellationToken, charge: call.Charge);
        return new ChatCompletion
        {
            Id = CompletionId(executionId),
            Created = time.GetUtcNow().ToUnixTimeSeconds(),
            Model = outcome.Model.Id,
            Provider = outcome.Model.Provider,
            Choices = [new ChatChoice { Index = 0, Message = MessageOf(outcome), FinishReason = FinishReasonOf(outcome.FinishReason) }],
            Usage = UsageOf(outcome.Usage),
        };
    }

    /// <summary>
    /// Chunks in OpenAI's order: the role, content deltas, the finish reason, then (when asked)
    /// usage with empty choices. Nothing is yielded before the first content exists, so a failure
    /// before then (after failover gave up) surfaces as an exception the edge can still answer with
    /// an HTTP error status. Every chunk names the model that wrote it: after an unseen failover
    /// before the first content, that is the backup, not the plan's first candidate.
    /// </summary>
    public async IAsyncEnumerable<ChatCompletionChunk> StreamAsync(ChatCall call, CallerIdentity caller, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(call, caller.AllowedModels, cancellationToken);
        await call.Charge.ReserveAsync(plan, cancellationToken);
        var executionId = Api.RouterApi.NewExecutionId();
        var id = CompletionId(executionId);
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var model = plan.Candidates[0].Model.Id;
        var first = true;
        await foreach (var item in executor.StreamAsync(plan, executionId, caller, cancellationToken, charge: call.Charge))
        {
            if (first)
            {
                first = false;
                model = item.Model?.Id ?? model;
                yield return Chunk(id, created, model, null, new ChunkDelta { Role = "assistant", Content = "" }, null);
            }

            if (item.Completed is { } outcome)
            {
                var finishChunk = Chunk(id, created, outcome.Model.Id, outcome.Model.Provider, new ChunkDelta(), FinishReasonOf(outcome.FinishReason));
                yield return outcome.Recovered ? new ChatCompletionChunk
                {
                    Id = finishChunk.Id,
                    Created = finishChunk.Created,
                    Model = finishChunk.Model,
                    Provider = finishChunk.Provider,
                    Choices = finishChunk.Choices,
                    Recovered = true,
                } : finishChunk;
                if (call.IncludeUsage)
                {
                    yield return new ChatCompletionChunk
                    {
                        Id = id,
                        Created = created,
                        Model = outcome.Model.Id,
                        Provider = outcome.Model.Provider,
                        Choices = [],
                        Usage = UsageOf(outcome.Usage),
                    };
                }
            }
            else if (!string.IsNullOrEmpty(item.Delta))
            {
                yield return Chunk(id, created, item.Model?.Id ?? model, null, new ChunkDelta { Content = item.Delta }, null);
            }
            else if (item.ToolCall is { } piece)
            {
                // As OpenAI streams them: index on every piece; id, type and name on the first piece of a call.
                yield return Chunk(id, created, item.Model?.Id ?? model, null, new ChunkDelta
                {
                    ToolCalls =
                    [
                        new ToolCallDto
                        {
                            Index = piece.Index,
                            Id = piece.Id,
                            Type = piece.Id is null && piece.Name is null ? null : "function",
                            Function = new FunctionCallDto { Name = piece.Name, Arguments = piece.ArgumentsDelta ?? "" },
                        },
                    ],
                }, null);
            }
        }
    }

    /// <summary>
    /// The router plans the call: <c>auto</c> is ranked with the request's <c>fallbacks</c> after the
    /// ranking; a named model is pinned, followed by its catalog chain and the request's
    /// <c>fallbacks</c>, under the router's window, budget and circuit checks (<see cref="RoutePins"/>).
    /// Names the caller gives must exist and be on the key's allow-list.
    /// </summary>
    internal ValueTask<RoutePlan> PlanAsync(ChatCall call, IReadOnlyList<string>? allowedModels, CancellationToken cancellationToken)
    {
        var task = call.Task with { AllowedModels = allowedModels };
        var pins = ModelPinResolver.Resolve(catalog, call.IsAuto ? null : call.Model, call.Fallbacks, allowedModels,
            "fallbacks", "List models with GET /openai/v1/models, or use \"auto\".");
        return router.PlanAsync(task, pins, cancellationToken);
    }

    /// <summary>The answer's message: its text (null when it only called tools, as OpenAI sends it) and its tool calls.</summary>
    private static AssistantMessage MessageOf(ExecutionOutcome outcome) => new()
    {
        Content = outcome.Content.Length == 0 && outcome.ToolCalls.Count > 0 ? null : outcome.Content,
        ToolCalls = outcome.ToolCalls.Count == 0 ? null : outcome.ToolCalls
            .Select(c => new ToolCallDto { Id = c.Id, Type = "function", Function = new FunctionCallDto { Name = c.Name, Arguments = c.ArgumentsJson } })
            .ToList(),
    };

    /// <summary>OpenAI's finish reasons; an unspecified one (never expected) reads as stop.</summary>
    public static string FinishReasonOf(FinishReason reason) => reason switch
    {
        FinishReason.ToolCalls => "tool_calls",
        FinishReason.Length => "length",
        FinishReason.ContentFilter => "content_filter",
        _ => "stop",
    };

    private static ChatCompletionChunk Chunk(string id, long created, string model, string? provider, ChunkDelta delta, string? finish) => new()
    {
        Id = id,
        Created = created,
        Model = model,
        Provider = provider,
        Choices = [new ChunkChoice { Index = 0, Delta = delta, FinishReason = finish }],
    };

    private static UsageDto UsageOf(TokenUsage usage) => new()
    {
        PromptTokens = usage.InputTokens,
        CompletionTokens = usage.OutputTokens,
        TotalTokens = usage.TotalTokens,
        PromptTokensDetails = usage.CachedInputTokens > 0 ? new PromptTokensDetailsDto { CachedTokens = usage.CachedInputTokens } : null,
    };

    private static string CompletionId(string executionId) => "chatcmpl-" + executionId;
}
