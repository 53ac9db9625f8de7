using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MonkeyCoder.Core.Auth;

/// <summary>Reports which identity store serves (embedded or PostgreSQL) and that it answers.</summary>
internal sealed class IdentityStoreHealthCheck(IIdentityStore store, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await store.HasActiveAdminKeyAsync(time.GetUtcNow(), timeout.Token);
            return store.Kind == "embedded"
                ? HealthCheckResult.Healthy("identity store: embedded (in-process, one replica)")
                : HealthCheckResult.Healthy("identity store: " + store.Kind);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "identity store " + store.Kind + " unreachable: " + ex.GetType().Name + "; API keys seen within their stale window keep working");
        }
    }
}
