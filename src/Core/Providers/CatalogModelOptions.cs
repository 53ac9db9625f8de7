namespace MonkeyCoder.Core.Providers;

/// <summary>A model added by configuration; the same fields as a catalog.json model.</summary>
public sealed class CatalogModelOptions
{
    public string? Id { get; set; }

    public string? DisplayName { get; set; }

    public List<string> Aliases { get; set; } = [];

    /// <summary>
    /// Tokens of input + output. Null (unset): the window the provider's model list reports, read by
    /// the health probe; until then, or where the list reports none, <see cref="DefaultContextWindow"/>.
    /// </summary>
    public int? ContextWindow { get; set; }

    /// <summary>The window of an operator-added model that sets none and whose provider reports none.</summary>
    public const int DefaultContextWindow = 32_768;

    public int MaxOutputTokens { get; set; } = 4096;

    public double InputPricePerMillion { get; set; }

    public double OutputPricePerMillion { get; set; }

    public ModelScoresOptions Capabilities { get; set; } = new();

    public int TypicalLatencyMs { get; set; } = 1500;

    public string Status { get; set; } = "active";

    public string? Replacement { get; set; }

    public List<string> Fallbacks { get; set; } = [];

    public bool Reasoning { get; set; }

    /// <summary>Whether the model continues a trailing assistant message. Defaults to the protocol's (Anthropic yes, others no).</summary>
    public bool? SupportsAssistantPrefill { get; set; }

    /// <summary>Time to first token for this model, in ms. Defaults to <c>EXECUTION_FIRST_TOKEN_TIMEOUT_MS</c>.</summary>
    public int? FirstTokenTimeoutMs { get; set; }

    /// <summary>Whether the model takes tools. Defaults to true (false for the simulated protocol).</summary>
    public bool? SupportsTools { get; set; }

    /// <summary>Whether the model accepts images. Defaults to false.</summary>
    public bool? SupportsImages { get; set; }

    /// <summary>US dollars per 1M cached input tokens. Defaults to the input price.</summary>
    public double? CachedInputPricePerMillion { get; set; }

    /// <summary>US dollars per 1M input tokens written to the prompt cache. Defaults to the input price.</summary>
    public double? CacheWritePricePerMillion { get; set; }

    internal CatalogModel ToModel(string provider) => new()
    {
        Id = Id!,
        Provider = provider,
        DisplayName = DisplayName ?? Id!,
        Aliases = Aliases,
        ContextWindow = ContextWindow ?? DefaultContextWindow,
        ContextWindowUnset = ContextWindow is null,
        MaxOutputTokens = MaxOutputTokens,
        InputPricePerMillion = InputPricePerMillion,
        OutputPricePerMillion = OutputPricePerMillion,
        Capabilities = new ModelScores { CodeGeneration = Capabilities.CodeGeneration, Reasoning = Capabilities.Reasoning, Reliability = Capabilities.Reliability },
        TypicalLatencyMs = TypicalLatencyMs,
        Status = Status,
        Replacement = Replacement,
        Fallbacks = Fallbacks,
        Reasoning = Reasoning,
        SupportsAssistantPrefill = SupportsAssistantPrefill,
        FirstTokenTimeoutMs = FirstTokenTimeoutMs,
        SupportsTools = SupportsTools,
        SupportsImages = SupportsImages,
        CachedInputPricePerMillion = CachedInputPricePerMillion,
        CacheWritePricePerMillion = CacheWritePricePerMillion,
    };
}
