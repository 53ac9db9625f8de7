using System.Text.Json;
using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Caching;

/// <summary>A finished answer as the cache keeps it.</summary>
internal sealed record CachedAnswer(
    string Content,
    int FinishReason,
    string Provider,
    string Model,
    long InputTokens,
    long OutputTokens,
    DateTimeOffset CreatedAt)
{
    /// <summary>The answer's tool calls (a hit returns them as the live answer did); null in entries without any.</summary>
    public IReadOnlyList<Providers.ToolCall>? ToolCalls { get; init; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CachedAnswer))]
internal sealed partial class CacheJsonContext : JsonSerializerContext;
