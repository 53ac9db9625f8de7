using System.Text.Json;
using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Edge.OpenAi;

// OpenAI's embeddings wire format (float vectors; base64 is refused), snake_case on the wire.

internal sealed class EmbeddingsRequest
{
    public string? Model { get; set; }

    /// <summary>A string or an array of strings (token arrays are refused).</summary>
    public JsonElement? Input { get; set; }

    /// <summary>"float" (the default); "base64" is refused.</summary>
    public string? EncodingFormat { get; set; }

    public int? Dimensions { get; set; }

    public string? User { get; set; }
}

/// <summary>A validated embeddings call, the OpenAI edge's <see cref="Calls.CallContext.Input"/>.</summary>
internal sealed record EmbeddingsCall(string Model, IReadOnlyList<string> Inputs, int? Dimensions)
{
    public Usage.UsageCharge Charge { get; } = new();
}

internal sealed class EmbeddingList
{
    public string Object => "list";

    public required IReadOnlyList<EmbeddingDto> Data { get; init; }

    public required string Model { get; init; }

    /// <summary>Monkey Coder extension (as on chat completions): the provider that answered.</summary>
    public string? Provider { get; init; }

    public required EmbeddingUsage Usage { get; init; }
}

internal sealed class EmbeddingDto
{
    public string Object => "embedding";

    public int Index { get; init; }

    public required float[] Embedding { get; init; }
}

internal sealed class EmbeddingUsage
{
    public long PromptTokens { get; init; }

    public long TotalTokens { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(EmbeddingsRequest))]
[JsonSerializable(typeof(EmbeddingList))]
internal sealed partial class EmbeddingsJsonContext : JsonSerializerContext;
