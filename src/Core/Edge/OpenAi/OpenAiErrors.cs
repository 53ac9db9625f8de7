using System.Globalization;
using Google.Rpc;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>An error as the OpenAI edge sends it: HTTP status, OpenAI's error body, and Retry-After when known.</summary>
internal sealed record OpenAiError(int HttpStatus, ErrorEnvelope Body, TimeSpan? RetryAfter);

/// <summary>
/// Maps the one error currency of Core (an <see cref="RpcException"/> carrying google.rpc.Status
/// details, as <see cref="Api.RpcErrors"/> builds it) onto OpenAI's error shape
/// <c>{"error":{"message","type","param","code"}}</c>. The code is the ErrorInfo reason in lower
/// case (e.g. <c>model_not_found</c>, <c>context_length_exceeded</c>, <c>rate_limit_exceeded</c>),
/// the param the first BadRequest field, and RetryInfo becomes Retry-After (whole seconds, rounded up).
/// </summary>
internal static class OpenAiErrors
{
    /// <summary>
    /// The final status of a call on the OpenAI edge in OpenAI's shape: <see cref="FromRpc"/>, except a
    /// body over <paramref name="maxBodyBytes"/> (413), a body the HTTP server refused (its status), and
    /// an <c>http_status</c> the status carries (e.g. 415 for a body that is not JSON).
    /// </summary>
    public static OpenAiError Render(RpcException ex, long maxBodyBytes)
    {
        var info = ex.GetRpcStatus()?.GetDetail<ErrorInfo>();
        int? http = info is not null && info.Metadata.TryGetValue(Calls.ErrorMappingStep.HttpStatusKey, out var value)
            && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
        return info?.Reason switch
        {
            Calls.ErrorMappingStep.RequestTooLarge => BodyTooLarge(maxBodyBytes),
            "BAD_REQUEST" => BadJson(ex.GetRpcStatus()?.Message ?? ex.Status.Detail) with { HttpStatus = http ?? StatusCodes.Status400BadRequest },
            _ when http is { } status => FromRpc(ex) with { HttpStatus = status },
            _ => FromRpc(ex),
        };
    }

    public static OpenAiError FromRpc(RpcException ex)
    {
        var status = ex.GetRpcStatus();
        var info = status?.GetDetail<ErrorInfo>();
        var badRequest = status?.GetDetail<BadRequest>();
        var retry = status?.GetDetail<RetryInfo>()?.RetryDelay?.ToTimeSpan();
        var message = status?.Message is { Length: > 0 } m ? m : ex.Status.Detail;
        var reason = info?.Reason;
        var (http, type) = ex.StatusCode switch
        {
            StatusCode.InvalidArgument or StatusCode.OutOfRange => (StatusCodes.Status400BadRequest, "invalid_request_error"),
            StatusCode.FailedPrecondition when reason == "CONTENT_FILTERED" => (StatusCodes.Status400BadRequest, "invalid_request_error"),
            StatusCode.FailedPrecondition when reason == "NO_MODEL_AVAILABLE" => (StatusCodes.Status503ServiceUnavailable, "service_unavailable"),
            StatusCode.FailedPrecondition => (StatusCodes.Status400BadRequest, "invalid_request_error"),
            StatusCode.Unauthenticated => (StatusCodes.Status401Unauthorized, "authentication_error"),
            StatusCode.PermissionDenied => (StatusCodes.Status403Forbidden, "permission_error"),
            StatusCode.NotFound => (StatusCodes.Status404NotFound, "not_found_error"),
            StatusCode.AlreadyExists or StatusCode.Aborted => (StatusCodes.Status409Conflict, "invalid_request_error"),
            StatusCode.ResourceExhausted => (StatusCodes.Status429TooManyRequests, "rate_limit_error"),
            StatusCode.Unavailable => (StatusCodes.Status503ServiceUnavailable, "service_unavailable"),
            StatusCode.DeadlineExceeded => (StatusCodes.Status504GatewayTimeout, "timeout_error"),
            StatusCode.Cancelled => (499, "cancelled"),
            StatusCode.Unimplemented => (StatusCodes.Status501NotImplemented, "invalid_request_error"),
            _ => (StatusCodes.Status500InternalServerError, "server_error"),
        };
        var code = reason switch
        {
            null or "" => ex.StatusCode.ToString().ToLowerInvariant(),
            "CONTENT_FILTERED" => "content_filter",
            _ when ex.StatusCode == StatusCode.ResourceExhausted && reason.StartsWith("RATE_LIMIT", StringComparison.Ordinal) => "rate_limit_exceeded",
            _ => reason.ToLowerInvariant(),
        };
        var param = badRequest?.FieldViolations.FirstOrDefault()?.Field;
        return new OpenAiError(http, Envelope(message, type, param, code), retry);
    }

    public static OpenAiError BodyTooLarge(long limit) => new(StatusCodes.Status413PayloadTooLarge,
        Envelope(string.Create(CultureInfo.InvariantCulture, $"The request body is larger than {limit} bytes."), "invalid_request_error", null, "request_too_large"), null);

    public static OpenAiError BadJson(string detail) => new(StatusCodes.Status400BadRequest,
        Envelope("The request body is not valid JSON for a chat completion: " + detail, "invalid_request_error", null, "invalid_json"), null);

    public static OpenAiError UnsupportedMediaType() => new(StatusCodes.Status415UnsupportedMediaType,
        Envelope("Send the request body as application/json.", "invalid_request_error", null, "unsupported_media_type"), null);

    public static OpenAiError Internal(string eventId) => new(StatusCodes.Status500InternalServerError,
        Envelope($"Internal error. Quote event id {eventId} when reporting it.", "server_error", null, "internal"), null);

    public static string RetryAfterHeader(TimeSpan delay) =>
        Math.Max(1, (long)Math.Ceiling(delay.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static ErrorEnvelope Envelope(string message, string type, string? param, string? code) =>
        new() { Error = new ErrorBody { Message = message, Type = type, Param = param, Code = code } };
}
