namespace MonkeyCoder.Core.Providers.OpenAi;

/// <summary>
/// One choice of a stream chunk: its delta's content and refusal, its finish reason, and its tool-call
/// pieces as a range of <see cref="OpenAiChunk.ToolCalls"/>.
/// </summary>
internal readonly record struct OpenAiChoiceDelta(string? Content, string? Refusal, string? FinishReason, int ToolCallStart, int ToolCallCount);
