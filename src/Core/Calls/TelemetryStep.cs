using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Observability;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// The outermost step: gives the call its <see cref="RequestTelemetry"/> (request id, log scope, span
/// continuing the caller's <c>traceparent</c>), records count/status/latency and the service's own
/// overhead (time not spent waiting on a provider), which the edge returns as <see cref="OverheadHeader"/>,
/// and ends with one log line. Runs outside the error mapping, so it sees the final status.
/// </summary>
internal sealed partial class TelemetryStep(MonkeyCoderMetrics metrics, IErrorReporter reporter, ILogger<TelemetryStep> logger) : ICallStep
{
    public const string OverheadHeader = "x-monkey-overhead-ms";
    public const string RequestIdHeader = "x-request-id";

    /// <summary>W3C trace context from the caller (gRPC metadata or HTTP header): the call span's parent.</summary>
    public const string TraceParentHeader = "traceparent";

    public const string TraceStateHeader = "tracestate";

    public async ValueTask RunAsync(CallContext call, CallNext next)
    {
        var telemetry = Begin(call.Edge.Header(RequestIdHeader), call.Rpc, call.Edge.Header(TraceParentHeader), call.Edge.Header(TraceStateHeader));
        telemetry.SensitiveValues = RequestSecrets.Of(call.Request);
        call.Telemetry = telemetry;
        call.Started = Stopwatch.GetTimestamp();
        using var scope = logger.BeginScope(telemetry);
        var trace = reporter.StartTrace(telemetry.Rpc);
        var status = StatusCode.Unknown;
        if (call.IsStream)
        {
            metrics.StreamStarted();
        }

        try
        {
            await next(call);
            status = StatusCode.OK;
            call.Edge.Answered(call, Overhead(telemetry, Stopwatch.GetElapsedTime(call.Started)));
        }
        catch (RpcException ex)
        {
            status = ex.StatusCode;
            if (!await call.Edge.RenderAsync(call, ex))
            {
                throw;
            }
        }
        finally
        {
            if (call.IsStream)
            {
                metrics.StreamEnded();
            }

            End(telemetry, call.Edge.Observed(call, status), Stopwatch.GetElapsedTime(call.Started), trace);
        }
    }

    /// <summary>
    /// The telemetry of one call. <paramref name="requestId"/> is the caller's <c>x-request-id</c>,
    /// kept when it is a sane token (≤ 64 chars of [A-Za-z0-9._-]), else replaced by a new one. The
    /// call's span (when tracing is on) continues the caller's <paramref name="traceparent"/>, if valid.
    /// </summary>
    internal static RequestTelemetry Begin(string? requestId, string rpc, string? traceparent = null, string? tracestate = null)
    {
        var sane = requestId is { Length: > 0 and <= 64 } && requestId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
        var telemetry = new RequestTelemetry(sane ? requestId! : Guid.CreateVersion7().ToString("N"), rpc);
        telemetry.Span = MonkeyCoderTracing.StartCall(rpc, string.IsNullOrEmpty(traceparent) ? null : traceparent, string.IsNullOrEmpty(tracestate) ? null : tracestate);
        telemetry.Span?.SetTag("monkeycoder.request_id", telemetry.RequestId);
        return telemetry;
    }

    /// <summary>Ends a call: request and overhead metrics, the trace, one log line.</summary>
    internal void End(RequestTelemetry telemetry, StatusCode status, TimeSpan elapsed, ITransactionTracer? trace)
    {
        var code = Code(status);
        MonkeyCoderTracing.EndCall(telemetry.Span, code, telemetry.Provider, telemetry.Model);
        metrics.RecordRpc(telemetry.Rpc, code, elapsed);
        var overhead = Overhead(telemetry, elapsed);
        metrics.RecordOverhead(telemetry.Rpc, overhead);
        if (trace is not null)
        {
            trace.SetTag("rpc", telemetry.Rpc);
            trace.Finish(status == StatusCode.OK ? SpanStatus.Ok : SpanStatus.UnknownError);
        }

        if (status == StatusCode.OK)
        {
            Log.Completed(logger, telemetry.Rpc, code, telemetry.Provider ?? "-", telemetry.Model ?? "-", elapsed.TotalMilliseconds, overhead.TotalMilliseconds);
        }
        else
        {
            Log.Failed(logger, telemetry.Rpc, code, telemetry.Provider ?? "-", telemetry.Model ?? "-", elapsed.TotalMilliseconds);
        }
    }

    /// <summary>Time of the call not spent waiting on providers (never negative).</summary>
    public static TimeSpan Overhead(RequestTelemetry telemetry, TimeSpan elapsed)
    {
        var overhead = elapsed - telemetry.ProviderTime;
        return overhead < TimeSpan.Zero ? TimeSpan.Zero : overhead;
    }

    /// <summary>The header/trailer form of a duration: milliseconds, up to 3 decimals.</summary>
    public static string Milliseconds(TimeSpan value) => value.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>"/monkeycoder.v1.RouterService/Execute" → "RouterService/Execute" (bounded, readable).</summary>
    public static string RpcName(string method)
    {
        var slash = method.LastIndexOf('/');
        if (slash <= 0)
        {
            return method.TrimStart('/');
        }

        var service = method[..slash].TrimStart('/');
        var dot = service.LastIndexOf('.');
        return string.Concat(dot >= 0 ? service[(dot + 1)..] : service, "/", method[(slash + 1)..]);
    }

    private static string Code(StatusCode status) => status switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unknown => "UNKNOWN",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Aborted => "ABORTED",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        _ => "UNKNOWN",
    };

    private static partial class Log
    {
        // Debug for successes: one line per call at Information would cost throughput under load.
        [LoggerMessage(EventId = EventIds.RequestCompleted, Level = LogLevel.Debug,
            Message = "{Rpc} {Outcome} via {Provider}/{Model} in {ElapsedMs:0.0} ms (overhead {OverheadMs:0.00} ms)")]
        public static partial void Completed(ILogger logger, string rpc, string outcome, string provider, string model, double elapsedMs, double overheadMs);

        [LoggerMessage(EventId = EventIds.RequestCompleted, Level = LogLevel.Information,
            Message = "{Rpc} {Outcome} via {Provider}/{Model} in {ElapsedMs:0.0} ms")]
        public static partial void Failed(ILogger logger, string rpc, string outcome, string provider, string model, double elapsedMs);
    }
}
