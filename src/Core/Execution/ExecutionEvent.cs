using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Execution;

/// <summary>
/// What a streaming execution yields: content deltas and tool-call deltas, then exactly one completion.
/// A delta names the model that wrote it (<see cref="Model"/>), which after an unseen failover is not the
/// plan's first candidate. A stream that breaks after a tool-call delta is never continued: it fails.
/// </summary>
internal readonly record struct ExecutionEvent(string? Delta, ExecutionOutcome? Completed, CatalogModel? Model = null, ToolCallDelta? ToolCall = null)
{
    public static ExecutionEvent Content(string text, CatalogModel model) => new(text, null, model);

    public static ExecutionEvent ToolCallPart(ToolCallDelta delta, CatalogModel model) => new(null, null, model, delta);

    public static ExecutionEvent Done(ExecutionOutcome outcome) => new(null, outcome, outcome.Model);
}
