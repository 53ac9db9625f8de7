using System.Collections.Concurrent;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Observability;

internal readonly record struct ProviderHealth(HealthState State, string Detail);

/// <summary>A provider's health changed from <see cref="Previous"/> to <see cref="Current"/>.</summary>
internal sealed record ProviderHealthChange(string Provider, HealthState Previous, HealthState Current, string Detail, DateTimeOffset At);

/// <summary>
/// Current health per provider from two kinds of signal. Passive, from real traffic: three
/// consecutive failed attempts make a provider degraded, ten unhealthy, one success healthy again.
/// Active, from background probes (<see cref="ProviderProbeService"/>): <see cref="ProbeUnhealthyAfter"/>
/// consecutive failed probes make it unhealthy until a probe succeeds. The worse of the two wins.
/// Every change raises <see cref="StateChanged"/> once (alerts, logs).
/// </summary>
internal sealed class ProviderHealthMonitor(TimeProvider? time = null)
{
    /// <summary>Consecutive failures before a provider is degraded. Defaults to 3.</summary>
    public const int DegradedAfter = 3;

    /// <summary>Consecutive failures before a provider is unhealthy. Defaults to 10.</summary>
    public const int UnhealthyAfter = 10;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Consecutive failed probes before a provider is unhealthy. Defaults to 2.</summary>
    public int ProbeUnhealthyAfter { get; set; } = 2;

    /// <summary>Raised after a provider's state changed, outside any lock. Handlers must not block.</summary>
    public event Action<ProviderHealthChange>? StateChanged;

    public ProviderHealth Get(string provider) =>
        _entries.TryGetValue(provider, out var entry) ? entry.Health : new(HealthState.Healthy, "serving");

    /// <summary>Every tracked provider's state (enabled providers are tracked from start-up).</summary>
    public IEnumerable<KeyValuePair<string, HealthState>> Snapshot()
    {
        foreach (var (provider, entry) in _entries)
        {
            yield return new(provider, entry.Health.State);
        }
    }

    /// <summary>Starts tracking a provider (healthy) so it shows in metrics before any traffic.</summary>
    public void Track(string provider) => _entries.GetOrAdd(provider, _ => new Entry());

    public void RecordSuccess(string provider)
    {
        var entry = _entries.GetOrAdd(provider, _ => new Entry());
        if (Volatile.Read(ref entry.PassiveFailures) == 0)
        {
            return; // the hot path: nothing to change
        }

        Update(provider, entry, e => e.PassiveFailures = 0);
    }

    public void RecordFailure(string provider, string errorClass) =>
        Update(provider, _entries.GetOrAdd(provider, _ => new Entry()), e =>
        {
            e.PassiveFailures++;
            e.LastError = errorClass;
        });

    /// <summary>One probe's result. <paramref name="detail"/> is shown to operators: no URLs with keys, no secrets.</summary>
    public void RecordProbe(string provider, bool healthy, string detail) =>
        Update(provider, _entries.GetOrAdd(provider, _ => new Entry()), e =>
        {
            e.ProbeFailures = healthy ? 0 : e.ProbeFailures + 1;
            e.ProbeDetail = detail;
        });

    private void Update(string provider, Entry entry, Action<Entry> change)
    {
        ProviderHealthChange? changed = null;
        lock (entry)
        {
            var before = entry.Health;
            change(entry);
            entry.Health = Evaluate(entry);
            if (entry.Health.State != before.State)
            {
                changed = new ProviderHealthChange(provider, before.State, entry.Health.State, entry.Health.Detail, _time.GetUtcNow());
            }
        }

        if (changed is not null)
        {
            StateChanged?.Invoke(changed);
        }
    }

    private ProviderHealth Evaluate(Entry e)
    {
        if (e.ProbeFailures >= ProbeUnhealthyAfter)
        {
            return new(HealthState.Unhealthy, $"{e.ProbeFailures} consecutive failed probes; last: {e.ProbeDetail}");
        }

        return e.PassiveFailures switch
        {
            >= UnhealthyAfter => new(HealthState.Unhealthy, $"{e.PassiveFailures} consecutive failures; last: {e.LastError}"),
            >= DegradedAfter => new(HealthState.Degraded, $"{e.PassiveFailures} consecutive failures; last: {e.LastError}"),
            _ => new(HealthState.Healthy, "serving"),
        };
    }

    private sealed class Entry
    {
        public int PassiveFailures;
        public int ProbeFailures;
        public string LastError = "";
        public string ProbeDetail = "";
        public volatile ProviderHealthBox? Box;

        public ProviderHealth Health
        {
            get => Box?.Value ?? new(HealthState.Healthy, "serving");
            set => Box = new ProviderHealthBox(value);
        }
    }

    /// <summary>Swapped as a whole so readers never see a torn state/detail pair.</summary>
    private sealed record ProviderHealthBox(ProviderHealth Value);
}
