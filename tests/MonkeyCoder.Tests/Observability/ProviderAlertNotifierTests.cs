using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.V1;

namespace MonkeyCoder.Tests.Observability;

public sealed class ProviderAlertNotifierTests
{
    [Fact]
    public void ShouldSend_FlappingInsideWindow_OneAlertThenSummaryAfterWindow()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var notifier = new ProviderAlertNotifier(new ProviderHealthMonitor(time),
            Options.Create(new AlertOptions { WebhookUrl = "http://127.0.0.1:9/hook", MinIntervalSeconds = 300 }),
            Options.Create(new HostingOptions { Environment = "staging" }), null!, time, NullLogger<ProviderAlertNotifier>.Instance);

        ProviderHealthChange Change(HealthState from, HealthState to) => new("openai", from, to, "HTTP 503", time.GetUtcNow());

        Assert.True(notifier.ShouldSend(Change(HealthState.Healthy, HealthState.Unhealthy), out var suppressed));
        Assert.Equal(0, suppressed);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.False(notifier.ShouldSend(Change(HealthState.Unhealthy, HealthState.Healthy), out _));
        Assert.False(notifier.ShouldSend(Change(HealthState.Healthy, HealthState.Unhealthy), out _));
        // Another provider has its own window.
        Assert.True(notifier.ShouldSend(new ProviderHealthChange("groq", HealthState.Healthy, HealthState.Degraded, "x", time.GetUtcNow()), out _));

        time.Advance(TimeSpan.FromSeconds(300));
        var change = Change(HealthState.Unhealthy, HealthState.Healthy);
        Assert.True(notifier.ShouldSend(change, out suppressed));
        Assert.Equal(2, suppressed);
        var text = notifier.Format(change, suppressed);
        Assert.Contains("`openai` is healthy (was unhealthy)", text, StringComparison.Ordinal);
        Assert.Contains("staging", text, StringComparison.Ordinal);
        Assert.Contains("2 earlier change(s) not alerted", text, StringComparison.Ordinal);
    }
}
