using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Observability;

/// <summary>Provider health state-change alerts. Section <c>MonkeyCoder:Alerts</c>.</summary>
public sealed class AlertOptions
{
    public const string Section = "MonkeyCoder:Alerts";

    /// <summary><c>ALERT_WEBHOOK_URL</c>: Slack-compatible incoming webhook (POST {"text": …}). Empty turns alerts off.</summary>
    [Url(ErrorMessage = "ALERT_WEBHOOK_URL (MonkeyCoder:Alerts:WebhookUrl) must be an absolute http(s) URL.")]
    public string? WebhookUrl { get; set; }

    /// <summary>
    /// Least time between two alerts for one provider, so a flapping provider does not flood the
    /// channel; changes inside the window are counted, and when it ends a follow-up alert is sent if the state differs from the last alert's. Defaults to 300 s.
    /// </summary>
    [Range(0, 86_400, ErrorMessage = "MonkeyCoder:Alerts:MinIntervalSeconds must be between 0 and 86400.")]
    public int MinIntervalSeconds { get; set; } = 300;
}

[OptionsValidator]
internal sealed partial class AlertOptionsValidator : IValidateOptions<AlertOptions>;
