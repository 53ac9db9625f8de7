using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers;

/// <summary>A content delta, a tool-call delta, or the final event carrying the finish reason and usage.</summary>
internal readonly record struct ProviderStreamEvent(string? Delta, FinishReason FinishReason, TokenUsage? Usage, ToolCallDelta? ToolCall = null)
{
    public static ProviderStreamEvent ToolCallPart(ToolCallDelta delta) => new(null, FinishReason.Unspecified, null, delta);

    public bool IsFinal => FinishReason != FinishReason.Unspecified;

    public static ProviderStreamEvent Content(string text) => new(text, FinishReason.Unspecified, null);

    public static ProviderStreamEvent Final(FinishReason reason, TokenUsage usage) => new(null, reason, usage);
}
