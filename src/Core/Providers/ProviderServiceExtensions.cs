using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Providers.Simulated;

namespace MonkeyCoder.Core.Providers;

internal static class ProviderServiceExtensions
{
    /// <summary>
    /// Registers one HTTP client per provider configured under <c>MonkeyCoder:Providers</c> with a
    /// key or a base URL, and adds configured providers and models to the catalog.
    /// </summary>
    public static IServiceCollection AddMonkeyCoderProviders(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<ProviderEndpointOptions>, ProviderEndpointOptionsValidator>();
        var names = new List<string>();
        foreach (var section in configuration.GetSection(ProviderEndpointOptions.Section).GetChildren())
        {
            var name = section.Key;
            if (string.Equals(name, SimulatedProvider.Name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            names.Add(name);
            services.AddOptions<ProviderEndpointOptions>(name).Bind(section).ValidateOnStart();
            if (!string.IsNullOrWhiteSpace(section["ApiKey"]) || !string.IsNullOrWhiteSpace(section["BaseUrl"]))
            {
                services.AddSingleton<IProviderClient>(sp => sp.GetRequiredService<ProviderClientFactory>().Create(name));
            }
        }

        services.AddSingleton(new ConfiguredProviderNames(names));
        services.AddSingleton<IConfigureOptions<CatalogOptions>, ConfigureCatalogFromProviders>();
        services.AddSingleton<ProviderClientFactory>();
        return services;
    }
}
