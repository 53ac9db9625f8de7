using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Providers;

/// <summary>One model as the catalog describes it. Immutable; the catalog swaps whole snapshots.</summary>
internal sealed record CatalogModel
{
    /// <summary>The provider's own model id, sent upstream as is.</summary>
    public required string Id { get; init; }

    public required string Provider { get; init; }

    public string DisplayName { get; init; } = "";

    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Tokens of input + output the model accepts.</summary>
    public int ContextWindow { get; init; }

    /// <summary>
    /// True for an operator-added model that set no window: <see cref="ContextWindow"/> is the one the
    /// provider's model list reports (<see cref="ModelCatalog.ApplyReportedContextWindows"/>), until
    /// then or where it reports none the documented default.
    /// </summary>
    [JsonIgnore]
    public bool ContextWindowUnset { get; init; }

    public int MaxOutputTokens { get; init; }

    /// <summary>US dollars per 1M input tokens.</summary>
    public double InputPricePerMillion { get; init; }

    /// <summary>US dollars per 1M output tokens.</summary>
    public double OutputPricePerMillion { get; init; }

    public ModelScores Capabilities { get; init; } = new();

    /// <summary>Typical time to a complete short answer, in milliseconds.</summary>
    public int TypicalLatencyMs { get; init; }

    /// <summary>"active" or "deprecated".</summary>
    public string Status { get; init; } = "active";

    /// <summary>For deprecated models: the model id to use instead.</summary>
    public string? Replacement { get; init; }

    /// <summary>Ordered model ids (this provider's, or "provider/id") to try when this one fails.</summary>
    public IReadOnlyList<string> Fallbacks { get; init; } = [];

    /// <summary>Reasoning models take max_completion_tokens and reject sampling parameters.</summary>
    public bool Reasoning { get; init; }

    /// <summary>
    /// Whether the model continues a trailing assistant message (prefill), which mid-stream recovery
    /// uses to continue a broken answer. Null in a catalog file means the protocol's default:
    /// true for Anthropic, false otherwise; <see cref="ModelCatalog"/> resolves it.
    /// </summary>
    public bool? SupportsAssistantPrefill { get; init; }

    /// <summary>
    /// Time to first token for this model, in ms, replacing <c>EXECUTION_FIRST_TOKEN_TIMEOUT_MS</c>
    /// (reasoning models think before they write). Null: the global limit.
    /// </summary>
    public int? FirstTokenTimeoutMs { get; init; }

    /// <summary>Whether the model takes tool definitions and makes tool calls. Null in a catalog file: the protocol's default (true except for simulated).</summary>
    public bool? SupportsTools { get; init; }

    /// <summary>Whether the model accepts image input. Null in a catalog file: false.</summary>
    public bool? SupportsImages { get; init; }

    /// <summary>US dollars per 1M input tokens read from the provider's prompt cache. Null: the input price.</summary>
    public double? CachedInputPricePerMillion { get; init; }

    /// <summary>US dollars per 1M input tokens written to the provider's prompt cache. Null: the input price.</summary>
    public double? CacheWritePricePerMillion { get; init; }

    /// <summary>
    /// What this model can honour beyond text: tools and images from the catalog, sampling and format
    /// options from its protocol. Resolved by <see cref="ModelCatalog"/>; the router keeps a model only when
    /// it has every feature a request needs.
    /// </summary>
    [JsonIgnore]
    public RequestFeatures Features { get; init; }

    /// <summary>"provider/id": unique across the catalog.</summary>
    [JsonIgnore]
    public string Key => $"{Provider}/{Id}";

    [JsonIgnore]
    public bool IsDeprecated => string.Equals(Status, "deprecated", StringComparison.OrdinalIgnoreCase);

    /// <summary>Cost in US dollars of the given usage at this model's prices.</summary>
    public double CostOf(TokenUsage usage)
    {
        var cached = Math.Clamp(usage.CachedInputTokens, 0, usage.InputTokens);
        var written = Math.Clamp(usage.CacheWriteInputTokens, 0, usage.InputTokens - cached);
        var uncached = usage.InputTokens - cached - written;
        return (uncached * InputPricePerMillion
            + cached * (CachedInputPricePerMillion ?? InputPricePerMillion)
            + written * (CacheWritePricePerMillion ?? InputPricePerMillion)
            + usage.OutputTokens * OutputPricePerMillion) / 1_000_000d;
    }
}

/// <summary>0–1 capability scores used by routing.</summary>
internal sealed record ModelScores
{
    public double CodeGeneration { get; init; } = 0.5;

    public double Reasoning { get; init; } = 0.5;

    public double Reliability { get; init; } = 0.9;
}
