using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers;

/// <summary>Token counts as the provider reported them (or estimated when it reported none).</summary>
/// <remarks>
/// <see cref="InputTokens"/> counts every input token, cached ones included (OpenAI's convention; the
/// Anthropic client adds its cache reads and writes in). <see cref="CachedInputTokens"/> of them were read
/// from the provider's prompt cache and <see cref="CacheWriteInputTokens"/> written to it; both are priced
/// at the catalog's cache prices.
/// </remarks>
internal readonly record struct TokenUsage(long InputTokens, long OutputTokens, bool Estimated = false, long CachedInputTokens = 0, long CacheWriteInputTokens = 0)
{
    public long TotalTokens => InputTokens + OutputTokens;

    public static TokenUsage operator +(TokenUsage a, TokenUsage b) =>
        new(a.InputTokens + b.InputTokens, a.OutputTokens + b.OutputTokens, a.Estimated || b.Estimated,
            a.CachedInputTokens + b.CachedInputTokens, a.CacheWriteInputTokens + b.CacheWriteInputTokens);
}

internal sealed record ProviderResponse(string Content, FinishReason FinishReason, TokenUsage Usage, string Model)
{
    /// <summary>The tool calls the model made, in order; <see cref="FinishReason"/> is then ToolCalls.</summary>
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];
}
