using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers;

/// <summary>Token counts as the provider reported them (or estimated when it reported none).</summary>
internal readonly record struct TokenUsage(long InputTokens, long OutputTokens, bool Estimated = false)
{
    public long TotalTokens => InputTokens + OutputTokens;

    public static TokenUsage operator +(TokenUsage a, TokenUsage b) =>
        new(a.InputTokens + b.InputTokens, a.OutputTokens + b.OutputTokens, a.Estimated || b.Estimated);
}

internal sealed record ProviderResponse(string Content, FinishReason FinishReason, TokenUsage Usage, string Model);
