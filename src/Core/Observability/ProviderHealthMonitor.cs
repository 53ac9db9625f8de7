using System.Collections.Concurrent;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Observability;

public readonly record struct ProviderHealth(HealthState State, string Detail);

/// <summary>
/// Current health per provider, fed by passive signals from real traffic. Enabled providers start
/// healthy. Three consecutive failed attempts make a provider degraded, ten unhealthy; one success
/// makes it healthy again.
/// </summary>
public sealed class ProviderHealthMonitor
{
    /// <summary>Consecutive failures before a provider is degraded. Defaults to 3.</summary>
    public const int DegradedAfter = 3;

    /// <summary>Consecutive failures before a provider is unhealthy. Defaults to 10.</summary>
    public const int UnhealthyAfter = 10;

    private readonly ConcurrentDictionary<string, int> _consecutiveFailures = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, string> _lastError = new(StringComparer.OrdinalIgnoreCase);

    public ProviderHealth Get(string provider)
    {
        var failures = _consecutiveFailures.GetValueOrDefault(provider);
        var last = _lastError.GetValueOrDefault(provider) ?? "";
        return failures switch
        {
            >= UnhealthyAfter => new(HealthState.Unhealthy, $"{failures} consecutive failures; last: {last}"),
            >= DegradedAfter => new(HealthState.Degraded, $"{failures} consecutive failures; last: {last}"),
            _ => new(HealthState.Healthy, "serving"),
        };
    }

    public void RecordSuccess(string provider) => _consecutiveFailures[provider] = 0;

    public void RecordFailure(string provider, string errorClass)
    {
        _lastError[provider] = errorClass;
        _consecutiveFailures.AddOrUpdate(provider, 1, (_, n) => n + 1);
    }
}
