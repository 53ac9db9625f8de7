using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers;

/// <summary>A provider-neutral chat request for one model.</summary>
internal sealed record ProviderRequest
{
    public required CatalogModel Model { get; init; }

    /// <summary>System turn first (if any), then the conversation in order.</summary>
    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>Already clamped to the model's output limit.</summary>
    public required int MaxTokens { get; init; }

    /// <summary>Null for reasoning models, which reject sampling parameters.</summary>
    public double? Temperature { get; init; }

    public TaskType TaskType { get; init; } = TaskType.Custom;

    /// <summary>Functions the model may call; empty when the caller offered none.</summary>
    public IReadOnlyList<ToolDefinition> Tools { get; init; } = [];

    /// <summary>Meaningful only with <see cref="Tools"/>.</summary>
    public ToolChoice ToolChoice { get; init; } = ToolChoice.Auto;

    /// <summary>False asks for at most one tool call per turn; null leaves the provider's default.</summary>
    public bool? ParallelToolCalls { get; init; }

    public SamplingOptions Sampling { get; init; } = SamplingOptions.None;
}
