using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Observability;

/// <summary>
/// The outermost interceptor: gives each RPC its <see cref="RequestTelemetry"/> (request id, log
/// scope), records per-RPC count/status/latency, active streams and the service's own overhead
/// (time not spent waiting on a provider), which it also returns as <c>x-monkey-overhead-ms</c>:
/// a response header on unary calls, a trailer on server streams. Runs outside the error mapping,
/// so it sees the final status code.
/// </summary>
internal sealed partial class TelemetryInterceptor(MonkeyCoderMetrics metrics, IErrorReporter reporter, ILogger<TelemetryInterceptor> logger) : Interceptor
{
    public const string OverheadHeader = "x-monkey-overhead-ms";
    public const string RequestIdHeader = "x-request-id";

    /// <summary>W3C trace context from the caller (gRPC metadata or HTTP header): the call span's parent.</summary>
    public const string TraceParentHeader = "traceparent";

    public const string TraceStateHeader = "tracestate";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var telemetry = Begin(request, context);
        using var scope = logger.BeginScope(telemetry);
        var trace = reporter.StartTrace(telemetry.Rpc);
        var started = Stopwatch.GetTimestamp();
        var status = StatusCode.Unknown;
        try
        {
            var response = await continuation(request, context);
            status = StatusCode.OK;
            var overhead = Overhead(telemetry, Stopwatch.GetElapsedTime(started));
            var headers = context.GetHttpContext().Response.Headers;
            headers[OverheadHeader] = Milliseconds(overhead);
            headers[RequestIdHeader] = telemetry.RequestId;
            return response;
        }
        catch (RpcException ex)
        {
            status = ex.StatusCode;
            throw;
        }
        finally
        {
            End(telemetry, status, Stopwatch.GetElapsedTime(started), trace);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var telemetry = Begin(request, context);
        using var scope = logger.BeginScope(telemetry);
        var trace = reporter.StartTrace(telemetry.Rpc);
        var started = Stopwatch.GetTimestamp();
        var status = StatusCode.Unknown;
        metrics.StreamStarted();
        try
        {
            await continuation(request, responseStream, context);
            status = StatusCode.OK;
            context.ResponseTrailers.Add(OverheadHeader, Milliseconds(Overhead(telemetry, Stopwatch.GetElapsedTime(started))));
        }
        catch (RpcException ex)
        {
            status = ex.StatusCode;
            throw;
        }
        finally
        {
            metrics.StreamEnded();
            End(telemetry, status, Stopwatch.GetElapsedTime(started), trace);
        }
    }

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

    private static RequestTelemetry Begin<TRequest>(TRequest request, ServerCallContext context)
    {
        var telemetry = Begin(context.RequestHeaders.GetValue(RequestIdHeader), RpcName(context.Method),
            context.RequestHeaders.GetValue(TraceParentHeader), context.RequestHeaders.GetValue(TraceStateHeader));
        if (request is not null)
        {
            telemetry.SensitiveValues = SensitiveValues(request);
        }

        return telemetry;
    }

    /// <summary>
    /// Starts the telemetry of one call on this async flow; the HTTP edge calls it for its
    /// endpoints too. <paramref name="requestId"/> is the caller's <c>x-request-id</c>, kept when it
    /// is a sane token (≤ 64 chars of [A-Za-z0-9._-]), else replaced by a new one. The call's span
    /// (when tracing is on) continues the caller's <paramref name="traceparent"/>, if valid.
    /// </summary>
    public static RequestTelemetry Begin(string? requestId, string rpc, string? traceparent = null, string? tracestate = null)
    {
        var sane = requestId is { Length: > 0 and <= 64 } && requestId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
        var telemetry = new RequestTelemetry(sane ? requestId! : Guid.CreateVersion7().ToString("N"), rpc);
        RequestTelemetry.Current = telemetry;
        telemetry.Span = MonkeyCoderTracing.StartCall(rpc, traceparent, tracestate);
        telemetry.Span?.SetTag("monkeycoder.request_id", telemetry.RequestId);
        return telemetry;
    }

    /// <summary>A Sentry trace for the call, or null when tracing is off or not sampled.</summary>
    public ITransactionTracer? StartTrace(string rpc) => reporter.StartTrace(rpc);

    /// <summary>
    /// The request's secrets and free text, for the scrubbers: prompts, file contents, custom
    /// instructions, comments, passwords, emails and names, refresh tokens, device and user codes.
    /// Ids, enums and numbers are not listed. Add a field here when a proto gains one of these.
    /// </summary>
    public static IReadOnlyList<string> SensitiveValues(object request)
    {
        switch (request)
        {
            case ExecuteRequest execute:
                var values = new List<string>(2 + execute.Files.Count) { execute.Prompt, execute.CustomInstructions };
                foreach (var file in execute.Files)
                {
                    values.Add(file.Content);
                }

                return values;
            case FeedbackRequest feedback:
                return [feedback.Comment];
            case LoginRequest login:
                return [login.Password, login.Email];
            case SignUpRequest signUp:
                return [signUp.Password, signUp.Email, signUp.DisplayName];
            case RefreshRequest refresh:
                return [refresh.RefreshToken];
            case LogoutRequest logout:
                return [logout.RefreshToken];
            case StartDeviceAuthorizationRequest start:
                return [start.ClientName];
            case PollDeviceAuthorizationRequest poll:
                return [poll.DeviceCode];
            case ApproveDeviceAuthorizationRequest approve:
                return [approve.UserCode];
            case CreateApiKeyRequest createKey:
                return [createKey.Name];
            default:
                return [];
        }
    }

    /// <summary>Ends a call: request and overhead metrics, the trace, one log line.</summary>
    public void End(RequestTelemetry telemetry, StatusCode status, TimeSpan elapsed, ITransactionTracer? trace)
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

/// <summary>
/// TEST-ONLY fault hook. Registered only when <c>MonkeyCoder:Diagnostics:EnableFaultInjection</c> is
/// true, which the host refuses in production. A request whose prompt contains <see cref="Marker"/>
/// then fails with an unexpected exception (message carrying the prompt, the caller's own
/// <c>x-api-key</c> and a fake provider key: the worst case for scrubbing), so tests can drive the INTERNAL path: error log, Sentry event, metrics.
/// Runs innermost, inside the error mapping.
/// </summary>
internal sealed class FaultInjectionInterceptor : Interceptor
{
    public const string Marker = "[[monkeycoder-test-fault:internal]]";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ThrowIfMarked(request, context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ThrowIfMarked(request, context);
        return continuation(request, responseStream, context);
    }

    private static void ThrowIfMarked<TRequest>(TRequest request, ServerCallContext context)
    {
        if (request is ExecuteRequest execute && execute.Prompt.Contains(Marker, StringComparison.Ordinal))
        {
            var callerKey = context.RequestHeaders.GetValue("x-api-key") ?? "-";
            throw new InjectedFaultException(
                $"Injected test fault while handling prompt '{execute.Prompt}' for caller key {callerKey} (upstream Authorization: Bearer sk-injected-fault-0123456789abcdef)");
        }
    }
}

/// <summary>The exception the test fault hook throws.</summary>
internal sealed class InjectedFaultException : Exception
{
    public InjectedFaultException()
    {
    }

    public InjectedFaultException(string message)
        : base(message)
    {
    }

    public InjectedFaultException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
