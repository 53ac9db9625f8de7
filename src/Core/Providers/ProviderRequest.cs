using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers;

internal enum ChatRole
{
    System,
    User,
    Assistant,
}

internal sealed record ChatMessage(ChatRole Role, string Content);

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
}
