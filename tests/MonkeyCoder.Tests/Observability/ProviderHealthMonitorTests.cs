using MonkeyCoder.Core.Observability;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Observability;

public sealed class ProviderHealthMonitorTests
{
    [Fact]
    public void RecordFailure_PassiveThresholds_DegradedThenUnhealthyWithOneEventPerChange()
    {
        var monitor = new ProviderHealthMonitor();
        var changes = new List<ProviderHealthChange>();
        monitor.StateChanged += changes.Add;

        for (var i = 0; i < ProviderHealthMonitor.DegradedAfter; i++)
        {
            monitor.RecordFailure("openai", "overloaded");
        }

        Assert.Equal(HealthState.Degraded, monitor.Get("openai").State);
        for (var i = ProviderHealthMonitor.DegradedAfter; i < ProviderHealthMonitor.UnhealthyAfter + 5; i++)
        {
            monitor.RecordFailure("openai", "overloaded");
        }

        Assert.Equal(HealthState.Unhealthy, monitor.Get("openai").State);
        monitor.RecordSuccess("openai");
        Assert.Equal(HealthState.Healthy, monitor.Get("openai").State);

        Assert.Equal(
            [(HealthState.Healthy, HealthState.Degraded), (HealthState.Degraded, HealthState.Unhealthy), (HealthState.Unhealthy, HealthState.Healthy)],
            changes.Select(c => (c.Previous, c.Current)));
    }

    [Fact]
    public void RecordProbe_FailuresReachThreshold_UnhealthyUntilAProbeSucceeds()
    {
        var monitor = new ProviderHealthMonitor { ProbeUnhealthyAfter = 2 };
        var changes = new List<ProviderHealthChange>();
        monitor.StateChanged += changes.Add;

        monitor.RecordProbe("anthropic", false, "HTTP 503");
        Assert.Equal(HealthState.Healthy, monitor.Get("anthropic").State);
        monitor.RecordProbe("anthropic", false, "HTTP 503");
        Assert.Equal(HealthState.Unhealthy, monitor.Get("anthropic").State);
        Assert.Contains("HTTP 503", monitor.Get("anthropic").Detail, StringComparison.Ordinal);

        // Passive successes do not hide a failing probe.
        monitor.RecordSuccess("anthropic");
        Assert.Equal(HealthState.Unhealthy, monitor.Get("anthropic").State);

        monitor.RecordProbe("anthropic", true, "HTTP 200");
        Assert.Equal(HealthState.Healthy, monitor.Get("anthropic").State);
        Assert.Equal(2, changes.Count);
    }

    [Fact]
    public void Snapshot_TrackedProvider_ListedHealthyBeforeTraffic()
    {
        var monitor = new ProviderHealthMonitor();
        monitor.Track("simulated");
        Assert.Equal([new KeyValuePair<string, HealthState>("simulated", HealthState.Healthy)], monitor.Snapshot());
    }
}
