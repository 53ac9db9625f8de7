using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Observability;

namespace MonkeyCoder.Core.Hosting;

/// <summary>
/// Watches the readiness checks between probes (the health-check publisher runs them every
/// 10 s): a check that turns degraded or unhealthy is logged once as a warning (the pod keeps
/// serving while degraded), its return once as information, and every check's state is the
/// gauge <c>monkeycoder.readiness.check</c> (2 healthy, 1 degraded, 0 unhealthy).
/// </summary>
internal sealed partial class ReadinessMonitor : IHealthCheckPublisher
{
    private readonly ConcurrentDictionary<string, HealthStatus> _states = new(StringComparer.Ordinal);
    private readonly ILogger<ReadinessMonitor> _logger;

    public ReadinessMonitor(IMeterFactory meters, ILogger<ReadinessMonitor> logger)
    {
        _logger = logger;
        // Same name as MonkeyCoderMetrics: the factory hands back that meter, exported at /metrics.
        meters.Create(MonkeyCoderMetrics.MeterName).CreateObservableGauge("monkeycoder.readiness.check", Measurements,
            description: "Readiness checks (postgresql, redis, identity, catalog, providers, …): 2 healthy, 1 degraded (still serving), 0 unhealthy.");
    }

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        foreach (var (name, entry) in report.Entries)
        {
            if (!entry.Tags.Contains(MonkeyCoderServiceExtensions.ReadyTag))
            {
                continue;
            }

            var previous = _states.TryGetValue(name, out var known) ? known : HealthStatus.Healthy;
            _states[name] = entry.Status;
            if (entry.Status == previous)
            {
                continue;
            }

            if (entry.Status == HealthStatus.Healthy)
            {
                Log.Recovered(_logger, name, entry.Description ?? string.Empty);
            }
            else if (entry.Status == HealthStatus.Degraded)
            {
                Log.Degraded(_logger, name, entry.Description ?? string.Empty);
            }
            else
            {
                Log.NotReady(_logger, name, entry.Description ?? string.Empty);
            }
        }

        return Task.CompletedTask;
    }

    private IEnumerable<Measurement<int>> Measurements() =>
        _states.Select(s => new Measurement<int>(s.Value switch
        {
            HealthStatus.Healthy => 2,
            HealthStatus.Degraded => 1,
            _ => 0,
        }, new KeyValuePair<string, object?>("check", s.Key)));

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.ReadinessDegraded, Level = LogLevel.Warning,
            Message = "Readiness check {Check} is degraded, still serving: {Description}")]
        public static partial void Degraded(ILogger logger, string check, string description);

        [LoggerMessage(EventId = EventIds.ReadinessRecovered, Level = LogLevel.Information,
            Message = "Readiness check {Check} is healthy again: {Description}")]
        public static partial void Recovered(ILogger logger, string check, string description);

        [LoggerMessage(EventId = EventIds.ReadinessFailed, Level = LogLevel.Warning,
            Message = "Readiness check {Check} is unhealthy: not ready until it recovers: {Description}")]
        public static partial void NotReady(ILogger logger, string check, string description);
    }
}
