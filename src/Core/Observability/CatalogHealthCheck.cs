using Microsoft.Extensions.Diagnostics.HealthChecks;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Observability;

/// <summary>Ready when the catalog loaded and at least one enabled provider has an active model.</summary>
internal sealed class CatalogHealthCheck(ModelCatalog catalog, ProviderRegistry providers) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var routable = catalog.Models.Count(m => providers.IsEnabled(m.Provider) && !m.IsDeprecated);
        return Task.FromResult(routable > 0
            ? HealthCheckResult.Healthy($"{routable} routable models from {providers.Enabled.Count} providers")
            : HealthCheckResult.Unhealthy("No enabled provider has an active model: set a provider key or enable the simulated provider."));
    }
}
