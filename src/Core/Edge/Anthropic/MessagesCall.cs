using MonkeyCoder.Core.Routing;

namespace MonkeyCoder.Core.Edge.Anthropic;

/// <summary>A validated Messages API call: the task to run, the model the caller named (or <c>auto</c>), and whether to stream.</summary>
internal sealed record MessagesCall(TaskRequest Task, string Model, bool Stream)
{
    /// <summary>The model name that asks Monkey Coder to route (as on the OpenAI edge).</summary>
    public const string AutoModel = "auto";

    /// <summary>True when the caller left the choice to Monkey Coder's router.</summary>
    public bool IsAuto => IsAutoName(Model);

    /// <summary>Where the not-found message sends the caller to list models.</summary>
    public const string ListHint = "List models with GET /anthropic/v1/models, or use \"auto\".";

    public static bool IsAutoName(string model) => string.Equals(model, AutoModel, StringComparison.OrdinalIgnoreCase);

    /// <summary>What the call's execution recorded as usage (answered, failed or cancelled), for the limits' settlement.</summary>
    public Usage.UsageCharge Charge { get; } = new();
}
