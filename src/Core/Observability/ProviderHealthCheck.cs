namespace MonkeyCoder.Core.Observability;

/// <summary>A health check per enabled provider ("provider/&lt;name&gt;"), served by gRPC health under that name.</summary>
internal sealed class ProviderHealthCheck(string provider, ProviderHealthMonitor monitor) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = monitor.Get(provider);
        return Task.FromResult(health.State switch
        {
            MonkeyCoder.V1.HealthState.Unhealthy => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy(health.Detail),
            MonkeyCoder.V1.HealthState.Degraded => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Degraded(health.Detail),
            _ => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy(health.Detail),
        });
    }
}
