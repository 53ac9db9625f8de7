using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Api;

/// <summary>
/// The last line of error mapping: provider failures become their classified status, a caller's
/// cancellation or deadline becomes CANCELLED / DEADLINE_EXCEEDED, a database outage becomes
/// UNAVAILABLE with RetryInfo (<see cref="Storage.StorageFailures"/>), and anything unexpected
/// becomes INTERNAL with an event id (logged with the exception; the caller sees no internals).
/// </summary>
internal sealed partial class ErrorInterceptor(ILogger<ErrorInterceptor> logger, Observability.IErrorReporter? reporter = null) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Map(ex, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Map(ex, context);
        }
    }

    private RpcException Map(Exception ex, ServerCallContext context)
    {
        switch (ex)
        {
            case ProviderException provider:
                return ProviderErrors.ToRpcException(provider);
            case var storage when Storage.StorageFailures.IsUnavailable(storage):
                Log.StorageUnavailable(logger, context.Method, storage.GetType().Name);
                return Storage.StorageFailures.ToRpcException();
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return context.Deadline <= DateTime.UtcNow
                    ? RpcErrors.Create(StatusCode.DeadlineExceeded, "DEADLINE_EXCEEDED", "The call's deadline passed before the answer was complete.")
                    : RpcErrors.Create(StatusCode.Cancelled, "CANCELLED", "The caller cancelled the call.");
            case Npgsql.PostgresException { SqlState: "22021" or "22P05" }:
                // Text PostgreSQL cannot store (U+0000, found by the fuzz pass): the caller's input, not a server fault.
                return RpcErrors.InvalidArgument("request", "A text field contains a character that cannot be stored (U+0000); remove it.");
            default:
                var eventId = Guid.NewGuid().ToString("N")[..12];
                Log.Unhandled(logger, Observability.SentryScrubber.ForLog(ex, Observability.RequestTelemetry.Current?.SensitiveValues), context.Method, eventId);
                reporter?.ReportInternal(ex, context.Method, eventId);
                return RpcErrors.Internal(eventId);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.UnhandledException, Level = LogLevel.Error,
            Message = "Unhandled exception in {Method} (event id {ErrorEventId})")]
        public static partial void Unhandled(ILogger logger, Exception exception, string method, string errorEventId);

        [LoggerMessage(EventId = Observability.EventIds.StorageUnavailable, Level = LogLevel.Warning,
            Message = "{Method} answered UNAVAILABLE: the database is unreachable ({ErrorType})")]
        public static partial void StorageUnavailable(ILogger logger, string method, string errorType);
    }
}
