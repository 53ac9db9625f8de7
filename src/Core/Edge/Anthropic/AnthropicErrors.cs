using Grpc.Core;
using Microsoft.AspNetCore.Http;
using MonkeyCoder.Core.Edge.OpenAi;

namespace MonkeyCoder.Core.Edge.Anthropic;

/// <summary>An error as the Anthropic edge sends it: HTTP status, Anthropic's error body, and Retry-After when known.</summary>
internal sealed record AnthropicError(int HttpStatus, AnthropicErrorEnvelope Body, TimeSpan? RetryAfter);

/// <summary>
/// Maps the one error currency of Core (an <see cref="RpcException"/> carrying google.rpc.Status
/// details) onto Anthropic's error shape <c>{"type":"error","error":{"type","message"}}</c>. The HTTP
/// status is the one the OpenAI edge gives the same status (<see cref="OpenAiErrors.Render"/>: one
/// table of gRPC status → HTTP status for both HTTP dialects); the error type is Anthropic's name
/// for that HTTP status. Unavailable models (503) read as <c>overloaded_error</c>, which Anthropic's
/// clients retry as they retry Anthropic's own 529.
/// </summary>
internal static class AnthropicErrors
{
    public static AnthropicError Render(RpcException ex, long maxBodyBytes) => From(OpenAiErrors.Render(ex, maxBodyBytes));

    public static AnthropicError FromRpc(RpcException ex) => From(OpenAiErrors.FromRpc(ex));

    public static AnthropicError BodyTooLarge(long limit) => From(OpenAiErrors.BodyTooLarge(limit));

    /// <summary>Anthropic's error type for an HTTP status.</summary>
    public static string TypeOf(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "authentication_error",
        StatusCodes.Status403Forbidden => "permission_error",
        StatusCodes.Status404NotFound => "not_found_error",
        StatusCodes.Status413PayloadTooLarge => "request_too_large",
        StatusCodes.Status429TooManyRequests => "rate_limit_error",
        StatusCodes.Status503ServiceUnavailable or 529 => "overloaded_error",
        StatusCodes.Status504GatewayTimeout => "timeout_error",
        >= 400 and < 500 => "invalid_request_error",
        _ => "api_error",
    };

    private static AnthropicError From(OpenAiError error) => new(error.HttpStatus,
        new AnthropicErrorEnvelope { Error = new AnthropicErrorBody { Type = TypeOf(error.HttpStatus), Message = error.Body.Error.Message } },
        error.RetryAfter);
}
