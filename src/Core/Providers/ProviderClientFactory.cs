using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Providers.Anthropic;
using MonkeyCoder.Core.Providers.Gemini;
using MonkeyCoder.Core.Providers.Http;
using MonkeyCoder.Core.Providers.OpenAi;

namespace MonkeyCoder.Core.Providers;

/// <summary>Builds each enabled provider's client from its options and the catalog entry.</summary>
internal sealed partial class ProviderClientFactory(
    IOptionsMonitor<ProviderEndpointOptions> options,
    ModelCatalog catalog,
    TokenCounter tokens,
    TimeProvider time,
    ILoggerFactory loggers,
    IOptions<Observability.TracingOptions>? tracing = null)
{
    public IProviderClient Create(string name)
    {
        var endpoint = options.Get(name);
        var known = catalog.FindProvider(name);
        var canonical = known?.Name ?? name;
        var protocol = (endpoint.Protocol ?? known?.Protocol ?? OpenAiClient.Protocol).ToLowerInvariant();
        var baseUrl = string.IsNullOrWhiteSpace(endpoint.BaseUrl) ? known?.BaseUrl : endpoint.BaseUrl;
        if (string.IsNullOrWhiteSpace(baseUrl) || !Uri.TryCreate(baseUrl, UriKind.Absolute, out var url))
        {
            throw new OptionsValidationException(name, typeof(ProviderEndpointOptions),
                [$"{ProviderEndpointOptionsValidator.Setting($"{ProviderEndpointOptions.Section}:{name}:BaseUrl")} is required: the catalog has no base URL for provider '{name}'."]);
        }

        var settings = new ProviderClientSettings
        {
            Name = canonical,
            BaseUrl = url,
            ApiKey = string.IsNullOrWhiteSpace(endpoint.ApiKey) ? null : endpoint.ApiKey.Trim(),
            RequestTimeout = TimeSpan.FromSeconds(endpoint.RequestTimeoutSeconds),
            ResponseHeadersTimeout = TimeSpan.FromSeconds(endpoint.ResponseHeadersTimeoutSeconds),
            StreamIdleTimeout = TimeSpan.FromSeconds(endpoint.StreamIdleTimeoutSeconds),
            ConnectTimeout = TimeSpan.FromSeconds(endpoint.ConnectTimeoutSeconds),
            AnthropicVersion = endpoint.AnthropicVersion,
            PropagateTraceContext = tracing?.Value.PropagateToProviders ?? true,
        };

        var logger = loggers.CreateLogger<ProviderClientFactory>();
        Log.Enabled(logger, canonical, protocol, settings.PublicBaseUrl.ToString(), settings.ApiKey is not null);
        HttpProviderClient client = protocol switch
        {
            AnthropicClient.Protocol => new AnthropicClient(settings, tokens, time, loggers.CreateLogger<AnthropicClient>()),
            GeminiClient.Protocol => new GeminiClient(settings, tokens, time, loggers.CreateLogger<GeminiClient>()),
            OpenAiClient.Protocol => new OpenAiClient(settings, tokens, time, loggers.CreateLogger<OpenAiClient>()),
            _ => throw new OptionsValidationException(name, typeof(ProviderEndpointOptions),
                [$"{ProviderEndpointOptions.Section}:{name}:Protocol '{protocol}' is not one of {string.Join(", ", ProviderEndpointOptions.Protocols)}."]),
        };
        if (catalog.HasUnsetContextWindows(canonical))
        {
            // Operator-added models without a window take the one the model list reports (read by the health probe).
            client.ContextWindowsReported = windows =>
            {
                foreach (var model in catalog.ApplyReportedContextWindows(canonical, windows))
                {
                    Log.WindowReported(logger, model.Key, model.ContextWindow);
                }
            };
        }

        return client;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.ProviderEnabled, Level = LogLevel.Information,
            Message = "Provider {Provider} enabled: protocol {Protocol} at {BaseUrl} (key configured: {HasKey})")]
        public static partial void Enabled(ILogger logger, string provider, string protocol, string baseUrl, bool hasKey);

        [LoggerMessage(EventId = Observability.EventIds.ContextWindowReported, Level = LogLevel.Information,
            Message = "Model {Model}: context window {ContextWindow} tokens, as the provider's model list reports")]
        public static partial void WindowReported(ILogger logger, string model, int contextWindow);
    }
}
