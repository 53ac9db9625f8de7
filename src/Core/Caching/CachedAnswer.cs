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
    DateTimeOffset CreatedAt);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CachedAnswer))]
internal sealed partial class CacheJsonContext : JsonSerializerContext;
