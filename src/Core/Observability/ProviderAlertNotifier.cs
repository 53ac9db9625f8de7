using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Observability;

/// <summary>
/// Posts a Slack-compatible message (<c>{"text": …}</c>) to <c>ALERT_WEBHOOK_URL</c> when a
/// provider's health changes. At most one alert per provider per
/// <see cref="AlertOptions.MinIntervalSeconds"/>, so a flapping provider does not flood the channel:
/// changes inside the window are counted, and when the window ends (a timer on the injected
/// <see cref="TimeProvider"/>) a follow-up alert is sent if the provider's latest state differs from
/// the last one alerted, naming the changes in between. Sends in the background; a failed post is
/// logged and dropped (alerts are best effort; metrics carry the state too).
/// </summary>
internal sealed partial class ProviderAlertNotifier(
    ProviderHealthMonitor monitor,
    IOptions<AlertOptions> options,
    IOptions<HostingOptions> hosting,
    IHttpClientFactory httpClients,
    TimeProvider time,
    ILogger<ProviderAlertNotifier> logger) : BackgroundService
{
    public const string HttpClientName = "monkeycoder-alerts";

    // Changes, and follow-up checks when a window ends; read by one loop, which alone touches _last.
    private readonly Channel<Item> _changes = Channel.CreateBounded<Item>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    private readonly ConcurrentDictionary<string, AlertWindow> _last = new(StringComparer.OrdinalIgnoreCase);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(options.Value.WebhookUrl))
        {
            monitor.StateChanged += OnChanged;
        }

        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        monitor.StateChanged -= OnChanged;
        _changes.Writer.TryComplete();
        foreach (var window in _last.Values)
        {
            window.FollowUp?.Dispose();
        }

        return base.StopAsync(cancellationToken);
    }

    /// <summary>
    /// Decides whether a change is alerted now (true) or suppressed by the per-provider window. A
    /// suppressed change is remembered and a follow-up check is scheduled for the window's end.
    /// </summary>
    public bool ShouldSend(ProviderHealthChange change, out int suppressedBefore)
    {
        var window = TimeSpan.FromSeconds(options.Value.MinIntervalSeconds);
        var now = time.GetUtcNow();
        suppressedBefore = 0;
        _last.TryGetValue(change.Provider, out var last);
        if (last is not null && now - last.SentAt < window)
        {
            last.Suppressed++;
            last.Latest = change;
            var provider = change.Provider;
            last.FollowUp ??= time.CreateTimer(_ => _changes.Writer.TryWrite(new Item(null, provider)), null, last.SentAt + window - now, Timeout.InfiniteTimeSpan);
            return false;
        }

        suppressedBefore = last?.Suppressed ?? 0;
        last?.FollowUp?.Dispose();
        _last[change.Provider] = new AlertWindow(now, change.Current);
        return true;
    }

    /// <summary>
    /// At the end of <paramref name="provider"/>'s window: the alert to send when its latest state
    /// differs from the last one alerted (Previous is the alerted state; the changes before the
    /// latest are counted in <paramref name="suppressedBefore"/>), else false.
    /// </summary>
    public bool TryFollowUp(string provider, [NotNullWhen(true)] out ProviderHealthChange? change, out int suppressedBefore)
    {
        change = null;
        suppressedBefore = 0;
        if (!_last.TryGetValue(provider, out var last) || last.Latest is not { } latest)
        {
            return false;
        }

        last.FollowUp?.Dispose();
        last.FollowUp = null;
        if (latest.Current == last.Alerted)
        {
            // Back where the last alert left it: nothing new to say; the count goes into the next alert.
            last.Latest = null;
            return false;
        }

        var followUp = latest with { Previous = last.Alerted };
        if (!ShouldSend(followUp, out var suppressed))
        {
            return false;
        }

        change = followUp;
        suppressedBefore = suppressed - 1;
        return true;
    }

    public string Format(ProviderHealthChange change, int suppressedBefore)
    {
        var icon = change.Current switch
        {
            HealthState.Healthy => ":large_green_circle:",
            HealthState.Degraded => ":large_yellow_circle:",
            _ => ":red_circle:",
        };
        var text = $"{icon} Monkey Coder ({hosting.Value.Environment}, {Environment.MachineName}): provider `{change.Provider}` is {Name(change.Current)} (was {Name(change.Previous)}): {change.Detail}";
        return suppressedBefore > 0 ? $"{text} ({suppressedBefore} earlier change(s) not alerted: flapping)" : text;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrEmpty(options.Value.WebhookUrl))
        {
            return;
        }

        var url = new Uri(options.Value.WebhookUrl);
        var http = httpClients.CreateClient(HttpClientName);
        try
        {
            await foreach (var item in _changes.Reader.ReadAllAsync(stoppingToken))
            {
                if (item.Text is { } text)
                {
                    await PostAsync(http, url, text, "budget", stoppingToken);
                    continue;
                }

                ProviderHealthChange change;
                int suppressed;
                if (item.Change is null)
                {
                    if (!TryFollowUp(item.Provider, out var followUp, out suppressed))
                    {
                        continue;
                    }

                    change = followUp;
                }
                else if (!ShouldSend(item.Change, out suppressed))
                {
                    Log.AlertSuppressed(logger, item.Provider, Name(item.Change.Current));
                    continue;
                }
                else
                {
                    change = item.Change;
                }

                try
                {
                    using var response = await http.PostAsJsonAsync(url, new WebhookMessage(Format(change, suppressed)), AlertJsonContext.Default.WebhookMessage, stoppingToken);
                    if (response.IsSuccessStatusCode)
                    {
                        Log.AlertSent(logger, change.Provider, Name(change.Current));
                    }
                    else
                    {
                        Log.AlertFailed(logger, change.Provider, $"HTTP {(int)response.StatusCode}");
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
                {
                    Log.AlertFailed(logger, change.Provider, ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Sends another feature's alert (budget thresholds) through the same webhook, queued behind
    /// provider alerts; false when no webhook is configured or the queue is full.
    /// </summary>
    public bool TrySend(string text) =>
        !string.IsNullOrEmpty(options.Value.WebhookUrl)
        && _changes.Writer.TryWrite(new Item(null, "", $"Monkey Coder ({hosting.Value.Environment}, {Environment.MachineName}): {text}"));

    private async Task PostAsync(HttpClient http, Uri url, string text, string subject, CancellationToken stoppingToken)
    {
        try
        {
            using var response = await http.PostAsJsonAsync(url, new WebhookMessage(text), AlertJsonContext.Default.WebhookMessage, stoppingToken);
            if (!response.IsSuccessStatusCode)
            {
                Log.AlertFailed(logger, subject, $"HTTP {(int)response.StatusCode}");
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
        {
            Log.AlertFailed(logger, subject, ex.GetType().Name);
        }
    }

    private void OnChanged(ProviderHealthChange change)
    {
        Log.StateChanged(logger, change.Provider, Name(change.Previous), Name(change.Current), change.Detail);
        _changes.Writer.TryWrite(new Item(change, change.Provider));
    }

    private static string Name(HealthState state) => state switch
    {
        HealthState.Healthy => "healthy",
        HealthState.Degraded => "degraded",
        HealthState.Unhealthy => "unhealthy",
        _ => "unknown",
    };

    /// <summary>A change to consider, or (Change null) the end of the provider's window.</summary>
    private readonly record struct Item(ProviderHealthChange? Change, string Provider, string? Text = null);

    /// <summary>One provider's alert window; touched only by the reader loop (and tests).</summary>
    private sealed class AlertWindow(DateTimeOffset sentAt, HealthState alerted)
    {
        public DateTimeOffset SentAt { get; } = sentAt;

        /// <summary>The state the last alert announced.</summary>
        public HealthState Alerted { get; } = alerted;

        public int Suppressed { get; set; }

        /// <summary>The latest suppressed change, until the window's end is handled.</summary>
        public ProviderHealthChange? Latest { get; set; }

        public ITimer? FollowUp { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.ProviderHealthChanged, Level = LogLevel.Warning,
            Message = "Provider {Provider} health changed from {Previous} to {Current}: {Detail}")]
        public static partial void StateChanged(ILogger logger, string provider, string previous, string current, string detail);

        [LoggerMessage(EventId = EventIds.AlertSent, Level = LogLevel.Information,
            Message = "Alert sent: provider {Provider} is {State}")]
        public static partial void AlertSent(ILogger logger, string provider, string state);

        [LoggerMessage(EventId = EventIds.AlertSuppressed, Level = LogLevel.Information,
            Message = "Alert for provider {Provider} ({State}) suppressed: another was sent inside the minimum interval")]
        public static partial void AlertSuppressed(ILogger logger, string provider, string state);

        [LoggerMessage(EventId = EventIds.AlertFailed, Level = LogLevel.Warning,
            Message = "Alert for provider {Provider} could not be posted: {Reason}")]
        public static partial void AlertFailed(ILogger logger, string provider, string reason);
    }
}

/// <summary>The Slack incoming-webhook body (also accepted by Mattermost, Rocket.Chat, Teams workflows).</summary>
internal sealed record WebhookMessage([property: JsonPropertyName("text")] string Text);

[JsonSerializable(typeof(WebhookMessage))]
internal sealed partial class AlertJsonContext : JsonSerializerContext;
