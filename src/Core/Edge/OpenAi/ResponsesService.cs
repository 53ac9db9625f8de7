using System.Runtime.CompilerServices;
using System.Text;
using MonkeyCoder.Core.Execution;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>
/// The Responses API on Monkey Coder: planned exactly as a chat completion
/// (<see cref="OpenAiChatService.PlanAsync"/>: pins, fallbacks, allow-list), run by the same
/// <see cref="TaskExecutor"/> (cache, failover, usage, limits), answered in the Responses shapes: a
/// message item with the text and one function_call item per tool call. Nothing is stored.
/// </summary>
internal sealed class ResponsesService(OpenAiChatService chat, TaskExecutor executor, TimeProvider time)
{
    public async Task<ResponseObject> CreateAsync(ChatCall call, CallerIdentity caller, CancellationToken cancellationToken)
    {
        var plan = await chat.PlanAsync(call, caller.AllowedModels, cancellationToken);
        await call.Charge.ReserveAsync(plan, cancellationToken);
        var executionId = Api.RouterApi.NewExecutionId();
        var outcome = await executor.ExecuteAsync(plan, executionId, caller, cancellationToken, charge: call.Charge);
        var output = new List<ResponseItem>();
        if (outcome.Content.Length > 0 || outcome.ToolCalls.Count == 0)
        {
            output.Add(Message(executionId, outcome.Content, "completed"));
        }

        output.AddRange(outcome.ToolCalls.Select((c, i) => FunctionCall(executionId, i, c.Id, c.Name, c.ArgumentsJson, "completed")));
        return Final(ResponseId(executionId), time.GetUtcNow().ToUnixTimeSeconds(), call, outcome, output);
    }

    /// <summary>
    /// The Responses event sequence: response.created and response.in_progress, then per output item
    /// its added/delta/done events, then response.completed carrying the whole response and usage.
    /// Nothing is yielded before the execution produced its first event, so a failure before then
    /// (after failover gave up) still surfaces as an exception the edge answers with an HTTP status.
    /// <see cref="ResponseStreamEvent.SequenceNumber"/> is set by the writer.
    /// </summary>
    public async IAsyncEnumerable<ResponseStreamEvent> StreamAsync(ChatCall call, CallerIdentity caller, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var plan = await chat.PlanAsync(call, caller.AllowedModels, cancellationToken);
        await call.Charge.ReserveAsync(plan, cancellationToken);
        var executionId = Api.RouterApi.NewExecutionId();
        var id = ResponseId(executionId);
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var model = plan.Candidates[0].Model.Id;
        var started = false;
        var nextIndex = 0;
        var text = new StringBuilder();
        int? messageIndex = null;
        var messageId = "msg_" + executionId;
        // Tool calls by their stream index: output index, item id, call id, name, arguments so far.
        var calls = new SortedDictionary<int, (int Output, string ItemId, string CallId, string Name, StringBuilder Arguments)>();
        var done = new List<ResponseItem>();

        await foreach (var item in executor.StreamAsync(plan, executionId, caller, cancellationToken, charge: call.Charge))
        {
            if (!started)
            {
                started = true;
                model = item.Model?.Id ?? model;
                var pending = InProgress(id, created, model, call);
                yield return new ResponseStreamEvent { Type = "response.created", Response = pending };
                yield return new ResponseStreamEvent { Type = "response.in_progress", Response = pending };
            }

            if (!string.IsNullOrEmpty(item.Delta))
            {
                if (messageIndex is null)
                {
                    messageIndex = nextIndex++;
                    yield return new ResponseStreamEvent { Type = "response.output_item.added", OutputIndex = messageIndex, Item = Message(executionId, null, "in_progress") };
                    yield return new ResponseStreamEvent { Type = "response.content_part.added", OutputIndex = messageIndex, ItemId = messageId, ContentIndex = 0, Part = new OutputText { Text = "" } };
                }

                text.Append(item.Delta);
                yield return new ResponseStreamEvent { Type = "response.output_text.delta", OutputIndex = messageIndex, ItemId = messageId, ContentIndex = 0, Delta = item.Delta };
            }

            if (item.ToolCall is { } delta)
            {
                if (messageIndex is { } open && !done.Any(d => d.Type == "message"))
                {
                    foreach (var closing in CloseMessage(executionId, open, text.ToString(), done))
                    {
                        yield return closing;
                    }
                }

                if (!calls.TryGetValue(delta.Index, out var state))
                {
                    var output = nextIndex++;
                    state = (output, "fc_" + executionId + "_" + delta.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        delta.Id ?? "call_" + executionId + "_" + delta.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), delta.Name ?? "", new StringBuilder());
                    calls[delta.Index] = state;
                    yield return new ResponseStreamEvent
                    {
                        Type = "response.output_item.added",
                        OutputIndex = output,
                        Item = new ResponseItem { Type = "function_call", Id = state.ItemId, Status = "in_progress", CallId = state.CallId, Name = state.Name, Arguments = "" },
                    };
                }

                if (!string.IsNullOrEmpty(delta.ArgumentsDelta))
                {
                    state.Arguments.Append(delta.ArgumentsDelta);
                    yield return new ResponseStreamEvent { Type = "response.function_call_arguments.delta", OutputIndex = state.Output, ItemId = state.ItemId, Delta = delta.ArgumentsDelta };
                }
            }

            if (item.Completed is { } outcome)
            {
                if (messageIndex is { } open && !done.Any(d => d.Type == "message"))
                {
                    foreach (var closing in CloseMessage(executionId, open, text.ToString(), done))
                    {
                        yield return closing;
                    }
                }

                // The outcome's tool calls are the complete ones: they win over what the deltas assembled.
                for (var i = 0; i < outcome.ToolCalls.Count; i++)
                {
                    var complete = outcome.ToolCalls[i];
                    if (!calls.TryGetValue(i, out var state))
                    {
                        state = (nextIndex++, "fc_" + executionId + "_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), complete.Id, complete.Name, new StringBuilder());
                        yield return new ResponseStreamEvent
                        {
                            Type = "response.output_item.added",
                            OutputIndex = state.Output,
                            Item = new ResponseItem { Type = "function_call", Id = state.ItemId, Status = "in_progress", CallId = complete.Id, Name = complete.Name, Arguments = "" },
                        };
                    }

                    calls.Remove(i);
                    var finished = new ResponseItem { Type = "function_call", Id = state.ItemId, Status = "completed", CallId = complete.Id, Name = complete.Name, Arguments = complete.ArgumentsJson };
                    yield return new ResponseStreamEvent { Type = "response.function_call_arguments.done", OutputIndex = state.Output, ItemId = state.ItemId, Arguments = complete.ArgumentsJson };
                    yield return new ResponseStreamEvent { Type = "response.output_item.done", OutputIndex = state.Output, Item = finished };
                    done.Add(finished);
                }

                // Calls the deltas opened but the outcome does not list (never expected): closed with what arrived.
                foreach (var (_, state) in calls)
                {
                    var finished = new ResponseItem { Type = "function_call", Id = state.ItemId, Status = "completed", CallId = state.CallId, Name = state.Name, Arguments = state.Arguments.ToString() };
                    yield return new ResponseStreamEvent { Type = "response.function_call_arguments.done", OutputIndex = state.Output, ItemId = state.ItemId, Arguments = finished.Arguments };
                    yield return new ResponseStreamEvent { Type = "response.output_item.done", OutputIndex = state.Output, Item = finished };
                    done.Add(finished);
                }

                calls.Clear();
                if (done.Count == 0)
                {
                    // An empty answer is still one (empty) message, as OpenAI sends it.
                    var index = nextIndex++;
                    yield return new ResponseStreamEvent { Type = "response.output_item.added", OutputIndex = index, Item = Message(executionId, null, "in_progress") };
                    yield return new ResponseStreamEvent { Type = "response.content_part.added", OutputIndex = index, ItemId = messageId, ContentIndex = 0, Part = new OutputText { Text = "" } };
                    foreach (var closing in CloseMessage(executionId, index, "", done))
                    {
                        yield return closing;
                    }
                }

                yield return new ResponseStreamEvent { Type = "response.completed", Response = Final(id, created, call, outcome, done) };
            }
        }
    }

    private static IEnumerable<ResponseStreamEvent> CloseMessage(string executionId, int index, string text, List<ResponseItem> done)
    {
        var messageId = "msg_" + executionId;
        var message = Message(executionId, text, "completed");
        done.Add(message);
        yield return new ResponseStreamEvent { Type = "response.output_text.done", OutputIndex = index, ItemId = messageId, ContentIndex = 0, Text = text };
        yield return new ResponseStreamEvent { Type = "response.content_part.done", OutputIndex = index, ItemId = messageId, ContentIndex = 0, Part = new OutputText { Text = text } };
        yield return new ResponseStreamEvent { Type = "response.output_item.done", OutputIndex = index, Item = message };
    }

    private static ResponseObject InProgress(string id, long created, string model, ChatCall call) => new()
    {
        Id = id,
        CreatedAt = created,
        Status = "in_progress",
        Model = model,
        Output = [],
        ParallelToolCalls = call.Task.ParallelToolCalls ?? true,
    };

    private static ResponseObject Final(string id, long created, ChatCall call, ExecutionOutcome outcome, IReadOnlyList<ResponseItem> output) => new()
    {
        Id = id,
        CreatedAt = created,
        Status = outcome.FinishReason == FinishReason.Length ? "incomplete" : "completed",
        IncompleteDetails = outcome.FinishReason switch
        {
            FinishReason.Length => new IncompleteDetails { Reason = "max_output_tokens" },
            FinishReason.ContentFilter => new IncompleteDetails { Reason = "content_filter" },
            _ => null,
        },
        Model = outcome.Model.Id,
        Provider = outcome.Model.Provider,
        Output = output,
        Usage = UsageOf(outcome.Usage),
        ParallelToolCalls = call.Task.ParallelToolCalls ?? true,
    };

    private static ResponseItem Message(string executionId, string? text, string status) => new()
    {
        Type = "message",
        Id = "msg_" + executionId,
        Status = status,
        Role = "assistant",
        Content = text is null ? [] : [new OutputText { Text = text }],
    };

    private static ResponseItem FunctionCall(string executionId, int index, string callId, string name, string arguments, string status) => new()
    {
        Type = "function_call",
        Id = "fc_" + executionId + "_" + index.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Status = status,
        CallId = callId,
        Name = name,
        Arguments = arguments,
    };

    private static ResponseUsage UsageOf(TokenUsage usage) => new()
    {
        InputTokens = usage.InputTokens,
        InputTokensDetails = new InputTokensDetails { CachedTokens = usage.CachedInputTokens },
        OutputTokens = usage.OutputTokens,
        TotalTokens = usage.TotalTokens,
    };

    private static string ResponseId(string executionId) => "resp_" + executionId;
}
