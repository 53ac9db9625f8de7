using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Observability;

/// <summary>Sentry error reporting. Section <c>MonkeyCoder:Sentry</c>. Off while the DSN is empty.</summary>
public sealed class SentrySettings
{
    public const string Section = "MonkeyCoder:Sentry";

    /// <summary><c>SENTRY_DSN</c>. Empty (the default) turns Sentry off.</summary>
    public string? Dsn { get; set; }

    /// <summary><c>SENTRY_RELEASE</c>: the release tag. Defaults to "monkey-coder@" + the Core assembly version.</summary>
    public string? Release { get; set; }

    /// <summary><c>SENTRY_SAMPLE_RATE</c>: share of error events sent. Defaults to 1 (all).</summary>
    [Range(0.0, 1.0, ErrorMessage = "SENTRY_SAMPLE_RATE (MonkeyCoder:Sentry:SampleRate) must be between 0 and 1.")]
    public double SampleRate { get; set; } = 1.0;

    /// <summary><c>SENTRY_TRACES_SAMPLE_RATE</c>: share of RPCs traced as Sentry transactions. Defaults to 0 (none).</summary>
    [Range(0.0, 1.0, ErrorMessage = "SENTRY_TRACES_SAMPLE_RATE (MonkeyCoder:Sentry:TracesSampleRate) must be between 0 and 1.")]
    public double TracesSampleRate { get; set; }
}

[OptionsValidator]
internal sealed partial class SentrySettingsValidator : IValidateOptions<SentrySettings>;
