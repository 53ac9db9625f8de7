namespace MonkeyCoder.Core.Providers;

internal enum ResponseFormatKind
{
    Text,
    JsonObject,
    JsonSchema,
}

/// <summary>The output format a caller asked for; <see cref="SchemaJson"/> is set for <see cref="ResponseFormatKind.JsonSchema"/>.</summary>
internal sealed record ResponseFormat(ResponseFormatKind Kind, string? SchemaName = null, string? SchemaJson = null, bool Strict = false);

/// <summary>
/// Sampling and format options beyond temperature. Every protocol client maps what its provider
/// supports; what it cannot honour is a <see cref="RequestFeatures"/> flag the router filters on, so
/// an option is honoured or the call is refused, never silently ignored.
/// </summary>
internal sealed record SamplingOptions
{
    public static readonly SamplingOptions None = new();

    public IReadOnlyList<string> Stop { get; init; } = [];

    public long? Seed { get; init; }

    public double? TopP { get; init; }

    public double? PresencePenalty { get; init; }

    public double? FrequencyPenalty { get; init; }

    public ResponseFormat? ResponseFormat { get; init; }

    /// <summary>The end user's id as the caller passed it (OpenAI's <c>user</c>, Anthropic's <c>metadata.user_id</c>).</summary>
    public string? User { get; init; }

    public bool IsEmpty => this == None || (Stop.Count == 0 && Seed is null && TopP is null && PresencePenalty is null
        && FrequencyPenalty is null && ResponseFormat is null or { Kind: ResponseFormatKind.Text } && User is null);
}

/// <summary>What a request needs from a model beyond text; the router keeps only models whose catalog entry has them all.</summary>
[Flags]
internal enum RequestFeatures
{
    None = 0,
    Tools = 1,
    Images = 2,
    Seed = 4,
    Penalties = 8,
    JsonObject = 16,
    JsonSchema = 32,
}
