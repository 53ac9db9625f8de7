using System.Text.Json;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Routing;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Edge.Anthropic;

/// <summary>
/// Messages on Monkey Coder: plan (the router, a named model pinned with its catalog chain, as on the
/// OpenAI edge and gRPC: <see cref="ModelPinResolver"/>), then the same <see cref="TaskExecutor"/> the gRPC API
/// uses (cache, failover, recovery, usage events), then Anthropic's shapes. Any catalog model can
/// answer; the response's <c>model</c> is the model that actually answered.
/// </summary>
internal sealed class AnthropicMessagesService(ITaskRouter router, ModelCatalog catalog, TaskExecutor executor, TokenCounter tokens)
{
    /// <summary>Tokens counted per image by count_tokens: Anthropic's cost of a ~1.15 megapixel image (the size it scales larger ones to).</summary>
    public const int TokensPerImage = 1600;

    public async Task<MessageResponse> CompleteAsync(MessagesCall call, CallerIdentity caller, CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(call, caller.AllowedModels, cancellationToken);
        await call.Charge.ReserveAsync(plan, cancellationToken);
        var executionId = Api.RouterApi.NewExecutionId();
        var outcome = await executor.ExecuteAsync(plan, executionId, caller, cancellationToken, charge: call.Charge);
        var content = new List<ContentBlock>();
        if (outcome.Content.Length > 0 || outcome.ToolCalls.Count == 0)
        {
            content.Add(new ContentBlock { Type = "text", Text = outcome.Content });
        }

        content.AddRange(outcome.ToolCalls.Select(ToolUseBlock));
        return new MessageResponse
        {
            Id = MessageId(executionId),
            Model = outcome.Model.Id,
            Content = content,
            StopReason = StopReasonOf(outcome.FinishReason, outcome.ToolCalls.Count > 0),
            Usage = UsageOf(outcome.Usage),
        };
    }

    /// <summary>
    /// The execution's events (content and tool-call deltas, then the completion) and the message id.
    /// Nothing is yielded before the first event exists, so a failure before then (after failover gave
    /// up) surfaces as an exception the edge still answers with an HTTP error status.
    /// </summary>
    public async IAsyncEnumerable<(string MessageId, ExecutionEvent Event)> StreamAsync(MessagesCall call, CallerIdentity caller,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(call, caller.AllowedModels, cancellationToken);
        await call.Charge.ReserveAsync(plan, cancellationToken);
        var executionId = Api.RouterApi.NewExecutionId();
        var id = MessageId(executionId);
        await foreach (var item in executor.StreamAsync(plan, executionId, caller, cancellationToken, charge: call.Charge))
        {
            yield return (id, item.Model is null && item.Completed is null ? item with { Model = plan.Candidates[0].Model } : item);
        }
    }

    /// <summary>count_tokens: the tokenizer's estimate over system, messages (text, tool calls and results, images) and tools.</summary>
    public long CountTokens(MessagesCall call)
    {
        var task = call.Task;
        var messages = new List<ChatMessage>(task.History);
        if (!task.EndsWithToolResults)
        {
            messages.Add(new ChatMessage(ChatRole.User, task.Prompt) { Images = task.PromptImages });
        }

        long total = tokens.Count(messages) + tokens.Count(task.CustomInstructions);
        foreach (var message in messages)
        {
            total += message.Images.Count * TokensPerImage;
            foreach (var toolCall in message.ToolCalls)
            {
                total += tokens.Count(toolCall.Name) + tokens.Count(toolCall.ArgumentsJson);
            }
        }

        foreach (var tool in task.Tools)
        {
            total += tokens.Count(tool.Name) + tokens.Count(tool.Description ?? "") + tokens.Count(tool.ParametersJsonSchema);
        }

        return total;
    }

    /// <summary>The router plans the call: <c>auto</c> is ranked; a named model is pinned with its catalog chain.</summary>
    internal ValueTask<RoutePlan> PlanAsync(MessagesCall call, IReadOnlyList<string>? allowedModels, CancellationToken cancellationToken)
    {
        var task = call.Task with { AllowedModels = allowedModels };
        var pins = ModelPinResolver.Resolve(catalog, call.IsAuto ? null : call.Model, [], allowedModels, "fallbacks", MessagesCall.ListHint);
        return router.PlanAsync(task, pins, cancellationToken);
    }

    /// <summary>Anthropic's stop reasons. Which stop sequence ended the answer is not known here, so it reads as end_turn.</summary>
    public static string StopReasonOf(FinishReason reason, bool hasToolCalls) => reason switch
    {
        FinishReason.ToolCalls => "tool_use",
        FinishReason.Length => "max_tokens",
        FinishReason.ContentFilter => "refusal",
        _ when hasToolCalls => "tool_use",
        _ => "end_turn",
    };

    /// <summary>Anthropic counts input tokens read from and written to the cache apart; ours include them.</summary>
    public static UsageBody UsageOf(TokenUsage usage) => new()
    {
        InputTokens = Math.Max(0, usage.InputTokens - usage.CachedInputTokens - usage.CacheWriteInputTokens),
        OutputTokens = usage.OutputTokens,
        CacheReadInputTokens = usage.CachedInputTokens,
        CacheCreationInputTokens = usage.CacheWriteInputTokens,
    };

    public static ContentBlock ToolUseBlock(ToolCall call) => new() { Type = "tool_use", Id = call.Id, Name = call.Name, Input = InputOf(call.ArgumentsJson) };

    /// <summary>A tool call's arguments as the JSON object Anthropic's <c>input</c> is; arguments that are not an object (a model's slip) are kept under "arguments".</summary>
    public static JsonElement InputOf(string argumentsJson)
    {
        try
        {
            using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(argumentsJson) ? "{}" : argumentsJson);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document.RootElement.Clone();
            }
        }
        catch (JsonException)
        {
            // Not JSON: kept as text below.
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("arguments", argumentsJson);
            writer.WriteEndObject();
        }

        using var wrapped = JsonDocument.Parse(buffer.WrittenMemory);
        return wrapped.RootElement.Clone();
    }

    private static string MessageId(string executionId) => "msg_" + executionId;
}
