using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace MonkeyCoder.Core.Storage;

/// <summary>
/// Whether PostgreSQL answers (registered when DATABASE_URL is set). A failure reports the
/// registration's failure status: Degraded, because the service serves through an outage (keys
/// within their stale window, usage spilled); see docs/operations.md.
/// </summary>
internal sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy("postgresql reachable");
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "postgresql unreachable: " + ex.GetType().Name + "; serving through it (usage spilled, known API keys within their stale window)");
        }
    }
}
