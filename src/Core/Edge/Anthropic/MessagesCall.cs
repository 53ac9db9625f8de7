using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Edge.Anthropic;

/// <summary>A validated Messages API call: the task to run, the model the caller named (or <c>auto</c>), and whether to stream.</summary>
internal sealed record MessagesCall(TaskRequest Task, string Model, bool Stream)
{
    /// <summary>What the call's execution recorded as usage (answered, failed or cancelled), for the limits' settlement.</summary>
    public Usage.UsageCharge Charge { get; } = new();
}
