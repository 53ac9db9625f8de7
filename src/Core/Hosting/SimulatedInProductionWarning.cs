using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MonkeyCoder.Core.Observability;

namespace MonkeyCoder.Core.Hosting;

/// <summary>
/// Production with <c>SIMULATED_ENABLED=true</c> (set on purpose): a warning at start, and the
/// readiness check "simulated" stays degraded so the readiness detail says it too.
/// </summary>
internal sealed partial class SimulatedInProductionWarning(ILogger<SimulatedInProductionWarning> logger) : IHostedService, IHealthCheck
{
    public const string Description =
        "SIMULATED_ENABLED=true with ENVIRONMENT=production: the simulated provider answers with made-up text and may win routing for simple tasks";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Enabled(logger, Description);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Degraded(Description));

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.SimulatedInProduction, Level = LogLevel.Warning, Message = "{Description}")]
        public static partial void Enabled(ILogger logger, string description);
    }
}
