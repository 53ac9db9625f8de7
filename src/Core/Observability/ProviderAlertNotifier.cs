using System.Collections.Concurrent;
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
/// <see cref="AlertOptions.MinIntervalSeconds"/>: changes inside the window are counted and named
/// in the next alert, so a flapping provider does not flood the channel. Sends in the background;
/// a failed post is logged and dropped (alerts are best effort; metrics carry the state too).
/// </summary>
public sealed partial class ProviderAlertNotifier(
    ProviderHealthMonitor monitor,
    IOptions<AlertOptions> options,
    IOptions<HostingOptions> hosting,
    IHttpClientFactory httpClients,
    TimeProvider time,
    ILogger<ProviderAlertNotifier> logger) : BackgroundService
{
    public const string HttpClientName = "monkeycoder-alerts";

    private readonly Channel<ProviderHealthChange> _changes = Channel.CreateBounded<ProviderHealthChange>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    private readonly ConcurrentDictionary<string, (DateTimeOffset SentAt, int Suppressed)> _last = new(StringComparer.OrdinalIgnoreCase);

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
        return base.StopAsync(cancellationToken);
    }

    /// <summary>Decides whether a change is alerted now (true) or suppressed by the per-provider window.</summary>
    public bool ShouldSend(ProviderHealthChange change, out int suppressedBefore)
    {
        var window = TimeSpan.FromSeconds(options.Value.MinIntervalSeconds);
        var now = time.GetUtcNow();
        suppressedBefore = 0;
        if (_last.TryGetValue(change.Provider, out var last) && now - last.SentAt < window)
        {
            _last[change.Provider] = (last.SentAt, last.Suppressed + 1);
            return false;
        }

        suppressedBefore = last.Suppressed;
        _last[change.Provider] = (now, 0);
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
            await foreach (var change in _changes.Reader.ReadAllAsync(stoppingToken))
            {
                if (!ShouldSend(change, out var suppressed))
                {
                    Log.AlertSuppressed(logger, change.Provider, Name(change.Current));
                    continue;
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

    private void OnChanged(ProviderHealthChange change)
    {
        Log.StateChanged(logger, change.Provider, Name(change.Previous), Name(change.Current), change.Detail);
        _changes.Writer.TryWrite(change);
    }

    private static string Name(HealthState state) => state switch
    {
        HealthState.Healthy => "healthy",
        HealthState.Degraded => "degraded",
        HealthState.Unhealthy => "unhealthy",
        _ => "unknown",
    };

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
public sealed record WebhookMessage([property: JsonPropertyName("text")] string Text);

[JsonSerializable(typeof(WebhookMessage))]
internal sealed partial class AlertJsonContext : JsonSerializerContext;
