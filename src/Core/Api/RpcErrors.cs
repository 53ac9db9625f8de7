using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace MonkeyCoder.Core.Api;

/// <summary>
/// The one way errors leave the service: an <see cref="RpcException"/> carrying a
/// <c>google.rpc.Status</c> with ErrorInfo (reason UPPER_SNAKE_CASE, domain "monkeycoder"),
/// plus BadRequest for INVALID_ARGUMENT and RetryInfo for RESOURCE_EXHAUSTED/UNAVAILABLE (with the
/// same delay as the <c>grpc-retry-pushback-ms</c> trailer, for clients' built-in retry policies).
/// </summary>
public static class RpcErrors
{
    public const string Domain = "monkeycoder";

    /// <summary>The detail messages errors carry; JSON transcoding needs them to render <c>details</c>.</summary>
    public static TypeRegistry DetailTypes { get; } =
        TypeRegistry.FromMessages(ErrorInfo.Descriptor, BadRequest.Descriptor, RetryInfo.Descriptor);

    public static RpcException Create(
        StatusCode code,
        string reason,
        string message,
        IReadOnlyDictionary<string, string>? metadata = null,
        TimeSpan? retryAfter = null,
        BadRequest? badRequest = null)
    {
        var info = new ErrorInfo { Reason = reason, Domain = Domain };
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                info.Metadata[key] = value;
            }
        }

        var status = new Google.Rpc.Status { Code = (int)code, Message = message, Details = { Any.Pack(info) } };
        if (badRequest is not null)
        {
            status.Details.Add(Any.Pack(badRequest));
        }

        if (retryAfter is { } delay)
        {
            status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(delay < TimeSpan.Zero ? TimeSpan.Zero : delay) }));
        }

        var exception = status.ToRpcException();
        if (retryAfter is { } pushback)
        {
            // gRFC A6 server pushback: a client's standard retry policy (grpc-dotnet, grpc-js, grpcio)
            // then waits this long before retrying, instead of its own backoff.
            exception.Trailers.Add(RetryPushbackTrailer, PushbackMilliseconds(pushback));
        }

        return exception;
    }

    /// <summary>The trailer of gRPC's server pushback (gRFC A6), sent with every RetryInfo.</summary>
    public const string RetryPushbackTrailer = "grpc-retry-pushback-ms";

    private static string PushbackMilliseconds(TimeSpan delay) =>
        ((long)Math.Ceiling(Math.Max(0, delay.TotalMilliseconds))).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static RpcException InvalidArgument(IReadOnlyList<BadRequest.Types.FieldViolation> violations)
    {
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(violations);
        var message = violations.Count == 1
            ? $"Invalid {violations[0].Field}: {violations[0].Description}"
            : $"{violations.Count} invalid fields: " + string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}"));
        return Create(StatusCode.InvalidArgument, "INVALID_ARGUMENT", message, badRequest: badRequest);
    }

    public static RpcException InvalidArgument(string field, string description) =>
        InvalidArgument([new BadRequest.Types.FieldViolation { Field = field, Description = description }]);

    /// <summary>
    /// A request body that is not a valid protobuf message of the RPC's request type (found before any
    /// interceptor runs, by <see cref="MalformedRequestGuard"/>): INVALID_ARGUMENT <c>MALFORMED_REQUEST</c>
    /// with the method in ErrorInfo metadata and a BadRequest violation on <c>request</c>.
    /// </summary>
    public static RpcException MalformedRequest(string method, string detail)
    {
        var description = "The body is not a valid protobuf message of this RPC's request type: " + detail;
        return Create(StatusCode.InvalidArgument, "MALFORMED_REQUEST", "Malformed request: " + detail,
            new Dictionary<string, string> { ["method"] = method },
            badRequest: new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = "request", Description = description } } });
    }

    public static RpcException FailedPrecondition(string reason, string message) =>
        Create(StatusCode.FailedPrecondition, reason, message);

    public static RpcException NotFound(string reason, string message) =>
        Create(StatusCode.NotFound, reason, message);

    public static RpcException ResourceExhausted(string reason, string message, TimeSpan retryAfter, IReadOnlyDictionary<string, string>? metadata = null) =>
        Create(StatusCode.ResourceExhausted, reason, message, metadata, retryAfter);

    public static RpcException Unavailable(string reason, string message, TimeSpan? retryAfter = null, IReadOnlyDictionary<string, string>? metadata = null) =>
        Create(StatusCode.Unavailable, reason, message, metadata, retryAfter);

    public static RpcException Unauthenticated(string reason, string message) =>
        Create(StatusCode.Unauthenticated, reason, message);

    public static RpcException PermissionDenied(string reason, string message) =>
        Create(StatusCode.PermissionDenied, reason, message);

    public static RpcException Internal(string eventId) =>
        Create(StatusCode.Internal, "INTERNAL", $"Internal error. Quote event id {eventId} when reporting it.",
            new Dictionary<string, string> { ["event_id"] = eventId });
}
