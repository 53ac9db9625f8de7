using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.Core.Storage;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// The one place an exception becomes a google.rpc.Status (an <see cref="RpcException"/> built by
/// <see cref="RpcErrors"/>), for every edge: provider failures become their classified status, a
/// caller's cancellation or deadline becomes CANCELLED / DEADLINE_EXCEEDED, a database outage becomes
/// UNAVAILABLE with RetryInfo (<see cref="StorageFailures"/>), a body the HTTP server refused becomes
/// INVALID_ARGUMENT, and anything unexpected becomes INTERNAL with an event id (logged with the
/// exception, scrubbed, and reported; the caller sees no internals). Edges render the status in their shape.
/// </summary>
internal sealed partial class ErrorMappingStep(ILogger<ErrorMappingStep> logger, IErrorReporter? reporter = null) : ICallStep
{
    /// <summary>ErrorInfo reason of a body larger than the server accepts.</summary>
    public const string RequestTooLarge = "REQUEST_TOO_LARGE";

    /// <summary>ErrorInfo metadata: the HTTP status an HTTP edge answers with when it differs from the code's usual one.</summary>
    public const string HttpStatusKey = "http_status";

    public async ValueTask RunAsync(CallContext call, CallNext next)
    {
        try
        {
            await next(call);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Map(ex, call);
        }
    }

    /// <summary>The status <paramref name="ex"/> stands for.</summary>
    public RpcException Map(Exception ex, CallContext call)
    {
        switch (ex)
        {
            case ProviderException provider:
                return ProviderErrors.ToRpcException(provider);
            case var storage when StorageFailures.IsUnavailable(storage):
                Log.StorageUnavailable(logger, call.Operation, storage.GetType().Name);
                return StorageFailures.ToRpcException();
            case OperationCanceledException when call.CancellationToken.IsCancellationRequested:
                return call.Deadline is { } deadline && deadline <= DateTime.UtcNow
                    ? RpcErrors.Create(StatusCode.DeadlineExceeded, "DEADLINE_EXCEEDED", "The call's deadline passed before the answer was complete.")
                    : RpcErrors.Create(StatusCode.Cancelled, "CANCELLED", "The caller cancelled the call.");
            case Npgsql.PostgresException { SqlState: "22021" or "22P05" }:
                // Text PostgreSQL cannot store (U+0000, found by the fuzz pass): the caller's input, not a server fault.
                return RpcErrors.InvalidArgument("request", "A text field contains a character that cannot be stored (U+0000); remove it.");
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } tooLarge:
                return RpcErrors.Create(StatusCode.InvalidArgument, RequestTooLarge, tooLarge.Message);
            case BadHttpRequestException bad:
                return RpcErrors.Create(StatusCode.InvalidArgument, "BAD_REQUEST", bad.Message,
                    new Dictionary<string, string> { [HttpStatusKey] = bad.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            default:
                var eventId = Guid.NewGuid().ToString("N")[..12];
                Log.Unhandled(logger, SentryScrubber.ForLog(ex, call.Telemetry?.SensitiveValues), call.Operation, eventId);
                reporter?.ReportInternal(ex, call.Operation, eventId);
                return RpcErrors.Internal(eventId);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.UnhandledException, Level = LogLevel.Error,
            Message = "Unhandled exception in {Method} (event id {ErrorEventId})")]
        public static partial void Unhandled(ILogger logger, Exception exception, string method, string errorEventId);

        [LoggerMessage(EventId = EventIds.StorageUnavailable, Level = LogLevel.Warning,
            Message = "{Method} answered UNAVAILABLE: the database is unreachable ({ErrorType})")]
        public static partial void StorageUnavailable(ILogger logger, string method, string errorType);
    }
}
