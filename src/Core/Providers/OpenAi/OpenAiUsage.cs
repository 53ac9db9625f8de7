namespace MonkeyCoder.Core.Providers.OpenAi;

/// <summary>A stream's usage chunk: each count null when the server left it out; cached tokens are included in the prompt tokens.</summary>
internal readonly record struct OpenAiUsage(long? PromptTokens, long? CompletionTokens, long? CachedTokens);
