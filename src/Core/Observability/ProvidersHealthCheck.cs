using Microsoft.Extensions.Diagnostics.HealthChecks;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Observability;

/// <summary>Healthy while every enabled provider is; degraded while some are not; unhealthy when none can serve.</summary>
internal sealed class ProvidersHealthCheck(ProviderRegistry providers, ProviderHealthMonitor monitor) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var states = providers.Enabled.ToDictionary(p => p, p => monitor.Get(p).State);
        var serving = states.Count(s => s.Value != HealthState.Unhealthy);
        var description = string.Join(", ", states.Select(s => $"{s.Key}={s.Value.ToString().ToLowerInvariant()}"));
        HealthCheckResult result = serving == 0
            ? HealthCheckResult.Unhealthy(description)
            : states.Values.All(s => s == HealthState.Healthy) ? HealthCheckResult.Healthy(description) : HealthCheckResult.Degraded(description);
        return Task.FromResult(result);
    }
}
