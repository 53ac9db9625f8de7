using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Providers.Http;

namespace MonkeyCoder.Core.Providers;

/// <summary>Provider names found under <c>MonkeyCoder:Providers</c> at start-up.</summary>
internal sealed record ConfiguredProviderNames(IReadOnlyList<string> Names);

/// <summary>Adds configured providers (protocol, base URL) and their models to the catalog options.</summary>
internal sealed class ConfigureCatalogFromProviders(ConfiguredProviderNames names, IOptionsMonitor<ProviderEndpointOptions> providers) : IConfigureOptions<CatalogOptions>
{
    public void Configure(CatalogOptions options)
    {
        foreach (var name in names.Names)
        {
            var endpoint = providers.Get(name);
            options.ConfiguredProviders().Add(new CatalogProviderOverride(
                name,
                endpoint.Protocol?.ToLowerInvariant(),
                string.IsNullOrWhiteSpace(endpoint.BaseUrl) ? null : ProviderClientSettings.Redact(new Uri(endpoint.BaseUrl)).ToString(),
                endpoint.DisplayName,
                endpoint.Models.Select(m => m.ToModel(name)).ToList()));
        }
    }
}
