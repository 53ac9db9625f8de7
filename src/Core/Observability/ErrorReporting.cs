using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Configuration;

namespace MonkeyCoder.Core.Observability;

/// <summary>
/// Where unexpected failures go. Only the INTERNAL branch of <c>Calls/ErrorMappingStep</c> calls it:
/// failures the caller is told about (validation, auth, limits, provider errors) are not errors of
/// this service and are not reported.
/// </summary>
internal interface IErrorReporter
{
    void ReportInternal(Exception exception, string method, string errorEventId);

    /// <summary>A performance trace for one RPC, or null when tracing is off or not sampled.</summary>
    ITransactionTracer? StartTrace(string rpc);
}

/// <summary>Used while <c>SENTRY_DSN</c> is empty.</summary>
internal sealed class NullErrorReporter : IErrorReporter
{
    public void ReportInternal(Exception exception, string method, string errorEventId)
    {
    }

    public ITransactionTracer? StartTrace(string rpc) => null;
}

/// <summary>
/// Sends unexpected exceptions to Sentry through the managed SDK (no native crash library: see
/// PITFALLS). Tags and the fingerprint are (RPC, exception type, provider), so one outage is one
/// Sentry issue. <see cref="SentryScrubber"/> runs on every event before it leaves the process.
/// </summary>
internal sealed partial class SentryErrorReporter : IErrorReporter, IDisposable
{
    private const string SensitiveHintKey = "monkeycoder.sensitive";
    private readonly IDisposable _sdk;
    private readonly bool _tracing;

    public SentryErrorReporter(IOptions<SentrySettings> settings, IOptions<HostingOptions> hosting, ILogger<SentryErrorReporter> logger)
    {
        var s = settings.Value;
        var options = new SentryOptions
        {
            Dsn = s.Dsn,
            Environment = hosting.Value.Environment,
            Release = string.IsNullOrEmpty(s.Release) ? DefaultRelease() : s.Release,
            SampleRate = (float)s.SampleRate,
            TracesSampleRate = s.TracesSampleRate,
            SendDefaultPii = false,
            AttachStacktrace = true,
            AutoSessionTracking = false,
            MaxBreadcrumbs = 0,
            IsGlobalModeEnabled = false,
        };
        options.SetBeforeSend((evt, hint) => SentryScrubber.Scrub(evt, hint.Items.TryGetValue(SensitiveHintKey, out var v) ? v as IReadOnlyList<string> : null));
        options.SetBeforeSendTransaction(t =>
        {
            t.Request = new SentryRequest();
            return t;
        });
        _sdk = SentrySdk.Init(options);
        _tracing = s.TracesSampleRate > 0;
        Log.Enabled(logger, options.Environment ?? "", options.Release ?? "", s.SampleRate, s.TracesSampleRate);
    }

    public void ReportInternal(Exception exception, string method, string errorEventId)
    {
        var telemetry = RequestTelemetry.Current;
        var rpc = telemetry?.Rpc ?? Calls.TelemetryStep.RpcName(method);
        var type = exception.GetType().FullName ?? exception.GetType().Name;
        var evt = new SentryEvent(exception) { Level = SentryLevel.Error };
        evt.SetTag("rpc", rpc);
        evt.SetTag("error_class", type);
        evt.SetTag("error_event_id", errorEventId);
        if (telemetry?.Provider is { } provider)
        {
            evt.SetTag("provider", provider);
        }

        if (telemetry is not null)
        {
            evt.SetTag("request_id", telemetry.RequestId);
        }

        // The OpenTelemetry trace of the call, so an error links to its spans.
        if ((telemetry?.Span?.TraceId.ToHexString() ?? MonkeyCoderTracing.CurrentTraceId()) is { } traceId)
        {
            evt.SetTag("trace_id", traceId);
        }

        evt.Fingerprint = ["internal", rpc, type, telemetry?.Provider ?? "-"];
        var hint = new SentryHint();
        hint.Items[SensitiveHintKey] = telemetry?.SensitiveValues ?? [];
        SentrySdk.CaptureEvent(evt, hint, _ => { });
    }

    public ITransactionTracer? StartTrace(string rpc) =>
        _tracing ? SentrySdk.StartTransaction(rpc, "rpc.server") : null;

    public void Dispose()
    {
        SentrySdk.Flush(TimeSpan.FromSeconds(5));
        _sdk.Dispose();
    }

    private static string DefaultRelease() =>
        "monkey-coder@" + (typeof(SentryErrorReporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0");

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.SentryEnabled, Level = LogLevel.Information,
            Message = "Sentry enabled (environment {Environment}, release {Release}, sample rate {SampleRate}, traces {TracesSampleRate})")]
        public static partial void Enabled(ILogger logger, string environment, string release, double sampleRate, double tracesSampleRate);
    }
}

/// <summary>
/// What may leave the process in a Sentry event: exception types, stack frames, tags. Removed:
/// request data, headers, cookies, user, breadcrumbs, exception data; exception and event messages
/// keep their text with the request's prompt and file contents and anything shaped like a key,
/// token, Authorization value or connection string replaced by "[scrubbed]".
/// </summary>
internal static partial class SentryScrubber
{
    public const string Replacement = "[scrubbed]";

    /// <summary>Sensitive values shorter than this are not searched for (too many false hits).</summary>
    private const int MinSensitiveLength = 6;

    /// <summary>A long prompt may appear cut in a message: its first this many characters are searched too.</summary>
    private const int PrefixLength = 32;

    public static SentryEvent Scrub(SentryEvent evt, IReadOnlyList<string>? sensitive)
    {
        evt.Request = new SentryRequest();
        evt.User = new SentryUser();
        evt.ServerName = evt.ServerName; // host names are not secrets; kept for triage
        if (evt.Message is { } message)
        {
            evt.Message = new SentryMessage
            {
                Message = message.Message is null ? null : Text(message.Message, sensitive),
                Formatted = message.Formatted is null ? null : Text(message.Formatted, sensitive),
            };
        }

        foreach (var exception in evt.SentryExceptions ?? [])
        {
            if (exception.Value is not null)
            {
                exception.Value = Text(exception.Value, sensitive);
            }

            exception.Mechanism?.Data.Clear();
        }

        return evt;
    }

    /// <summary>
    /// The exception as it may be written to a log: type names and stack frames kept, every message
    /// (inner ones too, four levels deep) scrubbed like a Sentry event, since an exception message
    /// can quote a prompt, a key or a connection string.
    /// </summary>
    public static Exception ForLog(Exception exception, IReadOnlyList<string>? sensitive, int depth = 0) =>
        new ScrubbedException(
            $"{exception.GetType().FullName}: {Text(exception.Message, sensitive)}",
            exception.StackTrace,
            exception.InnerException is { } inner && depth < 4 ? ForLog(inner, sensitive, depth + 1) : null);

    /// <summary>Replaces the request's sensitive values and secret-shaped substrings.</summary>
    public static string Text(string text, IReadOnlyList<string>? sensitive)
    {
        foreach (var value in sensitive ?? [])
        {
            if (value.Length < MinSensitiveLength)
            {
                continue;
            }

            text = text.Replace(value, Replacement, StringComparison.Ordinal);
            if (value.Length > PrefixLength)
            {
                text = text.Replace(value[..PrefixLength], Replacement, StringComparison.Ordinal);
            }
        }

        text = BearerPattern().Replace(text, "Bearer " + Replacement);
        text = JwtPattern().Replace(text, Replacement);
        text = KeyPattern().Replace(text, Replacement);
        text = AssignmentPattern().Replace(text, m => m.Groups[1].Value + m.Groups[2].Value + Replacement);
        text = UrlCredentialsPattern().Replace(text, m => m.Groups[1].Value + Replacement + "@");
        return text;
    }

    [GeneratedRegex(@"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")]
    private static partial Regex BearerPattern();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")]
    private static partial Regex JwtPattern();

    /// <summary>
    /// Key and token shapes, with either separator: this service's API keys (mk_&lt;prefix&gt;_&lt;secret&gt;)
    /// and refresh tokens (rt_…), provider keys (sk-…, sk-ant-…, sk_…, xai-…, gsk_…, AIza…), other
    /// sk/pk/rk-prefixed keys and GitHub tokens (ghp_…, github_pat_…).
    /// </summary>
    [GeneratedRegex(@"\b(?:sk|mk|pk|rk|rt|xai)[-_][A-Za-z0-9_-]{8,}|\bgsk_[A-Za-z0-9]{8,}|\bAIza[0-9A-Za-z_-]{20,}|\b(?:gh[pousr]_|github_pat_)[A-Za-z0-9_]{20,}")]
    private static partial Regex KeyPattern();

    [GeneratedRegex(@"(?i)\b(api[_-]?key|x-api-key|access[_-]?token|refresh[_-]?token|token|client[_-]?secret|secret|password|passwd|pwd|authorization|key|sig|signature)(\s*[:=]\s*[""']?)[^\s""',;&]+")]
    private static partial Regex AssignmentPattern();

    /// <summary>user:password@ and :password@ (Redis URLs carry no user name) after any scheme.</summary>
    [GeneratedRegex(@"([a-z][a-z0-9+.-]*://)(?:[^/\s:@]+(?::[^/\s@]*)?|:[^/\s@]+)@")]
    private static partial Regex UrlCredentialsPattern();
}

/// <summary>A scrubbed stand-in for an exception in logs (<see cref="SentryScrubber.ForLog"/>): the original's type is the message's prefix.</summary>
internal sealed class ScrubbedException(string message, string? stackTrace, Exception? inner) : Exception(message, inner)
{
    public override string? StackTrace => stackTrace;
}
