using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers;

/// <summary>
/// One upstream wire protocol. Implementations turn a provider-neutral request into the
/// provider's HTTP call and its answer back, classify every failure as a
/// <see cref="ProviderException"/>, and end the upstream request as soon as the token fires.
/// </summary>
internal interface IProviderClient
{
    /// <summary>The provider this client calls, e.g. "openai" or "simulated".</summary>
    string Provider { get; }

    /// <summary>The upstream base URL (never with credentials); null for in-process providers.</summary>
    Uri? BaseUrl { get; }

    Task<ProviderResponse> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Streams deltas and ends with exactly one <see cref="ProviderStreamEvent.IsFinal"/> event.
    /// A stream that ends without it is reported as <see cref="ProviderErrorClass.StreamCut"/>.
    /// </summary>
    IAsyncEnumerable<ProviderStreamEvent> StreamAsync(ProviderRequest request, CancellationToken cancellationToken);
}

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

/// <summary>Token counts as the provider reported them (or estimated when it reported none).</summary>
internal readonly record struct TokenUsage(long InputTokens, long OutputTokens, bool Estimated = false)
{
    public long TotalTokens => InputTokens + OutputTokens;

    public static TokenUsage operator +(TokenUsage a, TokenUsage b) =>
        new(a.InputTokens + b.InputTokens, a.OutputTokens + b.OutputTokens, a.Estimated || b.Estimated);
}

internal sealed record ProviderResponse(string Content, FinishReason FinishReason, TokenUsage Usage, string Model);

/// <summary>A content delta, or the final event carrying the finish reason and usage.</summary>
internal readonly record struct ProviderStreamEvent(string? Delta, FinishReason FinishReason, TokenUsage? Usage)
{
    public bool IsFinal => FinishReason != FinishReason.Unspecified;

    public static ProviderStreamEvent Content(string text) => new(text, FinishReason.Unspecified, null);

    public static ProviderStreamEvent Final(FinishReason reason, TokenUsage usage) => new(null, reason, usage);
}
