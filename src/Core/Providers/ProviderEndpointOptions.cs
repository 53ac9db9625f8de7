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
