using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers;

/// <summary>A content delta, or the final event carrying the finish reason and usage.</summary>
internal readonly record struct ProviderStreamEvent(string? Delta, FinishReason FinishReason, TokenUsage? Usage)
{
    public bool IsFinal => FinishReason != FinishReason.Unspecified;

    public static ProviderStreamEvent Content(string text) => new(text, FinishReason.Unspecified, null);

    public static ProviderStreamEvent Final(FinishReason reason, TokenUsage usage) => new(null, reason, usage);
}
