using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
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

    [Fact]
    public void TryFollowUp_RecoveredThenDownInsideWindow_DownAlertedWhenWindowEnds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var notifier = Create(time, null!, NullLogger<ProviderAlertNotifier>.Instance);
        ProviderHealthChange Change(HealthState from, HealthState to) => new("openai", from, to, "HTTP 503", time.GetUtcNow());

        Assert.True(notifier.ShouldSend(Change(HealthState.Unhealthy, HealthState.Healthy), out _));
        Assert.False(notifier.TryFollowUp("openai", out _, out _));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(notifier.ShouldSend(Change(HealthState.Healthy, HealthState.Unhealthy), out _));
        time.Advance(TimeSpan.FromSeconds(290));

        Assert.True(notifier.TryFollowUp("openai", out var followUp, out var suppressed));
        Assert.Equal(HealthState.Healthy, followUp.Previous);
        Assert.Equal(HealthState.Unhealthy, followUp.Current);
        Assert.Equal(0, suppressed);
        Assert.Contains("`openai` is unhealthy (was healthy)", notifier.Format(followUp, suppressed), StringComparison.Ordinal);
        // The follow-up opened a new window: it is handled once.
        Assert.False(notifier.TryFollowUp("openai", out _, out _));
    }

    [Fact]
    public void TryFollowUp_FlappedBackToAlertedState_NoFollowUpAndCountKeptForNextAlert()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var notifier = Create(time, null!, NullLogger<ProviderAlertNotifier>.Instance);
        ProviderHealthChange Change(HealthState from, HealthState to) => new("openai", from, to, "HTTP 503", time.GetUtcNow());

        Assert.True(notifier.ShouldSend(Change(HealthState.Healthy, HealthState.Unhealthy), out _));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(notifier.ShouldSend(Change(HealthState.Unhealthy, HealthState.Healthy), out _));
        Assert.False(notifier.ShouldSend(Change(HealthState.Healthy, HealthState.Unhealthy), out _));
        time.Advance(TimeSpan.FromSeconds(290));

        Assert.False(notifier.TryFollowUp("openai", out _, out _));
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.True(notifier.ShouldSend(Change(HealthState.Unhealthy, HealthState.Healthy), out var suppressed));
        Assert.Equal(2, suppressed);
    }

    [Fact]
    public async Task ExecuteAsync_DownAgainInsideWindowAndStaysDown_FollowUpPostedAtWindowEnd()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var monitor = new ProviderHealthMonitor(time);
        var hook = new RecordingHandler();
        var logger = new EventLogger();
        using var notifier = Create(time, new Factory(hook), logger, monitor);
        await notifier.StartAsync(CancellationToken.None);
        try
        {
            monitor.RecordProbe("openai", healthy: false, "HTTP 503");
            monitor.RecordProbe("openai", healthy: false, "HTTP 503");
            Assert.True(await WaitAsync(() => hook.Bodies.Count == 1), "no alert for going down");
            time.Advance(TimeSpan.FromSeconds(400));

            monitor.RecordProbe("openai", healthy: true, "ok");
            Assert.True(await WaitAsync(() => hook.Bodies.Count == 2), "no alert for the recovery");
            Assert.Contains("is healthy", hook.Bodies.Last(), StringComparison.Ordinal);

            time.Advance(TimeSpan.FromSeconds(10));
            monitor.RecordProbe("openai", healthy: false, "HTTP 503");
            monitor.RecordProbe("openai", healthy: false, "HTTP 503");
            Assert.True(await WaitAsync(() => logger.Events.Contains(EventIds.AlertSuppressed)), "the change inside the window was not suppressed");
            time.Advance(TimeSpan.FromSeconds(289));
            Assert.Equal(2, hook.Bodies.Count);

            time.Advance(TimeSpan.FromSeconds(1));
            Assert.True(await WaitAsync(() => hook.Bodies.Count == 3), "the provider stayed down but no follow-up alert was posted");
            Assert.Contains("`openai` is unhealthy (was healthy)", hook.Bodies.Last(), StringComparison.Ordinal);
        }
        finally
        {
            await notifier.StopAsync(CancellationToken.None);
        }
    }

    private static ProviderAlertNotifier Create(FakeTimeProvider time, IHttpClientFactory http, ILogger<ProviderAlertNotifier> logger, ProviderHealthMonitor? monitor = null) =>
        new(monitor ?? new ProviderHealthMonitor(time),
            Options.Create(new AlertOptions { WebhookUrl = "http://127.0.0.1:9/hook", MinIntervalSeconds = 300 }),
            Options.Create(new HostingOptions { Environment = "staging" }), http, time, logger);

    /// <summary>Polls (real time, at most 10 s): the notifier posts from its background loop.</summary>
    private static async Task<bool> WaitAsync(Func<bool> done)
    {
        for (var i = 0; i < 200 && !done(); i++)
        {
            await Task.Delay(50);
        }

        return done();
    }

    private sealed class RecordingHandler : HttpMessageHandler
    {
        /// <summary>The "text" of each posted message.</summary>
        public ConcurrentQueue<string> Bodies { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var json = System.Text.Json.JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
            Bodies.Enqueue(json.RootElement.GetProperty("text").GetString()!);
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }

    private sealed class Factory(HttpMessageHandler handler) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false);
    }

    private sealed class EventLogger : ILogger<ProviderAlertNotifier>
    {
        public ConcurrentBag<int> Events { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Events.Add(eventId.Id);
    }
}
