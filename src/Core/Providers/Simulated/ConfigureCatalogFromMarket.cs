using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Providers.Simulated;

/// <summary>Adds the market's models to the catalog as models of the simulated provider (replacing same-id ones).</summary>
internal sealed class ConfigureCatalogFromMarket(SimulatedMarket market) : IConfigureOptions<CatalogOptions>
{
    public void Configure(CatalogOptions options)
    {
        var models = market.Models;
        if (models.Count > 0)
        {
            options.ConfiguredProviders().Add(new CatalogProviderOverride(SimulatedProvider.Name, null, null, null, [.. models.Select(m => m.ToCatalogModel())]));
        }
    }
}
