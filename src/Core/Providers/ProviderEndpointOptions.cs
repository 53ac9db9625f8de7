using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Providers.Anthropic;
using MonkeyCoder.Core.Providers.Gemini;
using MonkeyCoder.Core.Providers.OpenAi;

namespace MonkeyCoder.Core.Providers;

/// <summary>
/// One upstream provider, as named options under <c>MonkeyCoder:Providers:&lt;name&gt;</c>
/// (<c>OPENAI_API_KEY</c>, <c>OPENAI_BASE_URL</c>, … map here). A provider is enabled by its key or
/// by a configured base URL. Operators add their own OpenAI-compatible servers the same way:
/// <c>MonkeyCoder:Providers:myvllm:{BaseUrl,Protocol,Models}</c>.
/// </summary>
public sealed class ProviderEndpointOptions
{
    public const string Section = "MonkeyCoder:Providers";

    /// <summary>The provider's key; never logged, returned or put in an error. Defaults to none.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Overrides the catalog's base URL (OpenAI-compatible: including "/v1"). Required for providers the catalog does not know.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>"openai", "anthropic" or "gemini". Defaults to the catalog's protocol for the provider, else "openai".</summary>
    public string? Protocol { get; set; }

    public string? DisplayName { get; set; }

    /// <summary>Whole unary request, in seconds. Defaults to 300 s.</summary>
    [Range(1, 3600, ErrorMessage = "MonkeyCoder:Providers:<name>:RequestTimeoutSeconds must be between 1 and 3600.")]
    public int RequestTimeoutSeconds { get; set; } = 300;

    /// <summary>Wait for response headers (first byte of a stream), in seconds. Defaults to 60 s.</summary>
    [Range(1, 3600, ErrorMessage = "MonkeyCoder:Providers:<name>:ResponseHeadersTimeoutSeconds must be between 1 and 3600.")]
    public int ResponseHeadersTimeoutSeconds { get; set; } = 60;

    /// <summary>Longest silence inside a stream, in seconds, before it counts as stalled. Defaults to 60 s.</summary>
    [Range(1, 3600, ErrorMessage = "MonkeyCoder:Providers:<name>:StreamIdleTimeoutSeconds must be between 1 and 3600.")]
    public int StreamIdleTimeoutSeconds { get; set; } = 60;

    /// <summary>TCP + TLS connect, in seconds. Defaults to 10 s.</summary>
    [Range(1, 300, ErrorMessage = "MonkeyCoder:Providers:<name>:ConnectTimeoutSeconds must be between 1 and 300.")]
    public int ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Anthropic protocol only. Defaults to "2023-06-01".</summary>
    public string AnthropicVersion { get; set; } = "2023-06-01";

    /// <summary>Models this provider serves beyond (or replacing) the catalog's, same fields as catalog.json.</summary>
    public List<CatalogModelOptions> Models { get; set; } = [];

    public bool IsEnabled => !string.IsNullOrWhiteSpace(ApiKey) || !string.IsNullOrWhiteSpace(BaseUrl);

    public static readonly IReadOnlyList<string> Protocols = [OpenAiClient.Protocol, AnthropicClient.Protocol, GeminiClient.Protocol];
}

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
    };
}

public sealed class ModelScoresOptions
{
    public double CodeGeneration { get; set; } = 0.5;

    public double Reasoning { get; set; } = 0.5;

    public double Reliability { get; set; } = 0.9;
}

[OptionsValidator]
internal sealed partial class ProviderEndpointOptionsAnnotationsValidator : IValidateOptions<ProviderEndpointOptions>;

/// <summary>Ranges from the annotations, plus checks whose messages name the provider and its variable.</summary>
internal sealed class ProviderEndpointOptionsValidator : IValidateOptions<ProviderEndpointOptions>
{
    private readonly ProviderEndpointOptionsAnnotationsValidator _annotations = new();

    public ValidateOptionsResult Validate(string? name, ProviderEndpointOptions options)
    {
        var builder = new ValidateOptionsResultBuilder();
        builder.AddResult(_annotations.Validate(name, options));
        var prefix = $"{ProviderEndpointOptions.Section}:{name}";
        if (!string.IsNullOrWhiteSpace(options.BaseUrl)
            && (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            builder.AddError($"{Setting(prefix + ":BaseUrl")} must be an absolute http(s) URL.");
        }

        if (options.Protocol is { Length: > 0 } protocol && !ProviderEndpointOptions.Protocols.Contains(protocol, StringComparer.OrdinalIgnoreCase))
        {
            builder.AddError($"{prefix}:Protocol '{protocol}' is not one of {string.Join(", ", ProviderEndpointOptions.Protocols)}.");
        }

        for (var i = 0; i < options.Models.Count; i++)
        {
            var model = options.Models[i];
            if (string.IsNullOrWhiteSpace(model.Id))
            {
                builder.AddError($"{prefix}:Models:{i}:Id is required.");
            }

            if (model.ContextWindow is <= 0 || model.MaxOutputTokens <= 0)
            {
                builder.AddError($"{prefix}:Models:{i}: ContextWindow and MaxOutputTokens must be positive.");
            }
        }

        return builder.Build();
    }

    /// <summary>"KEY (ENV_VAR)" when an environment variable maps to the key.</summary>
    internal static string Setting(string key)
    {
        var variable = EnvironmentVariables.Map.FirstOrDefault(m => string.Equals(m.Key, key, StringComparison.OrdinalIgnoreCase)).Variable;
        return variable is null ? key : $"{variable} ({key})";
    }
}
