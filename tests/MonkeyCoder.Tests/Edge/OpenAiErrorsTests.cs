using Grpc.Core;
using MonkeyCoder.Core.Api;
using MonkeyCoder.Core.Edge.OpenAi;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Tests.Edge;

public sealed class OpenAiErrorsTests
{
    [Fact]
    public void FromRpc_ResourceExhaustedWithRetryInfo_429RateLimitWithRetryAfterRoundedUp()
    {
        var error = OpenAiErrors.FromRpc(RpcErrors.ResourceExhausted("RATE_LIMITED", "Too many requests.", TimeSpan.FromMilliseconds(1200)));
        Assert.Equal(429, error.HttpStatus);
        Assert.Equal("rate_limit_error", error.Body.Error.Type);
        Assert.Equal("rate_limit_exceeded", error.Body.Error.Code);
        Assert.Equal("Too many requests.", error.Body.Error.Message);
        Assert.Equal("2", OpenAiErrors.RetryAfterHeader(error.RetryAfter!.Value));
    }

    [Fact]
    public void FromRpc_InvalidArgument_400WithFirstFieldAsParam()
    {
        var error = OpenAiErrors.FromRpc(RpcErrors.InvalidArgument("messages", "Required."));
        Assert.Equal(400, error.HttpStatus);
        Assert.Equal("invalid_request_error", error.Body.Error.Type);
        Assert.Equal("messages", error.Body.Error.Param);
        Assert.Equal("invalid_argument", error.Body.Error.Code);
        Assert.Null(error.RetryAfter);
    }

    [Theory]
    [InlineData(StatusCode.Unauthenticated, 401, "authentication_error")]
    [InlineData(StatusCode.PermissionDenied, 403, "permission_error")]
    [InlineData(StatusCode.NotFound, 404, "not_found_error")]
    [InlineData(StatusCode.Unavailable, 503, "service_unavailable")]
    [InlineData(StatusCode.DeadlineExceeded, 504, "timeout_error")]
    [InlineData(StatusCode.Internal, 500, "server_error")]
    public void FromRpc_StatusCode_MatchingHttpStatusAndType(StatusCode code, int http, string type)
    {
        var error = OpenAiErrors.FromRpc(RpcErrors.Create(code, "SOME_REASON", "m"));
        Assert.Equal(http, error.HttpStatus);
        Assert.Equal(type, error.Body.Error.Type);
        Assert.Equal("some_reason", error.Body.Error.Code);
    }

    [Fact]
    public void FromRpc_ProviderContextLength_400ContextLengthExceeded()
    {
        var rpc = ProviderErrors.ToRpcException(new ProviderException("openai", ProviderErrorClass.ContextLengthExceeded, "too long"));
        var error = OpenAiErrors.FromRpc(rpc);
        Assert.Equal(400, error.HttpStatus);
        Assert.Equal("context_length_exceeded", error.Body.Error.Code);
        Assert.Equal("prompt", error.Body.Error.Param);
    }

    [Fact]
    public void FromRpc_ProviderRateLimitedAfterFailover_503WithProviderRetryAfter()
    {
        var rpc = ProviderErrors.ToRpcException(new ProviderException("openai", ProviderErrorClass.RateLimited, "slow down") { RetryAfter = TimeSpan.FromSeconds(7) });
        var error = OpenAiErrors.FromRpc(rpc);
        Assert.Equal(503, error.HttpStatus);
        Assert.Equal("provider_rate_limited", error.Body.Error.Code);
        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
    }

    /// <summary>What the error step makes of a body Kestrel refused, rendered as the edge answered it before the call pipeline.</summary>
    [Fact]
    public void Render_BodyOverTheLimit_413RequestTooLargeNamingTheLimit()
    {
        var status = new Core.Calls.ErrorMappingStep(Microsoft.Extensions.Logging.Abstractions.NullLogger<Core.Calls.ErrorMappingStep>.Instance)
            .Map(new Microsoft.AspNetCore.Http.BadHttpRequestException("Request body too large.", 413), Infrastructure.TestCallEdge.Call(Core.Calls.CallOperations.ChatCompletions));

        var error = OpenAiErrors.Render(status, 1024);

        Assert.Equal(413, error.HttpStatus);
        Assert.Equal("request_too_large", error.Body.Error.Code);
        Assert.Equal(OpenAiErrors.BodyTooLarge(1024).Body.Error.Message, error.Body.Error.Message);
    }

    [Fact]
    public void Render_StatusCarryingAnHttpStatus_ThatStatusOtherwiseAsFromRpc()
    {
        var unsupported = RpcErrors.Create(StatusCode.InvalidArgument, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json.",
            new Dictionary<string, string> { [Core.Calls.ErrorMappingStep.HttpStatusKey] = "415" });

        var error = OpenAiErrors.Render(unsupported, 1024);

        Assert.Equal(415, error.HttpStatus);
        Assert.Equal(OpenAiErrors.UnsupportedMediaType().Body.Error.Code, error.Body.Error.Code);
        Assert.Equal(OpenAiErrors.UnsupportedMediaType().Body.Error.Message, error.Body.Error.Message);
        var plain = OpenAiErrors.Render(RpcErrors.InvalidArgument("messages", "Required."), 1024);
        Assert.Equal(400, plain.HttpStatus);
        Assert.Equal("messages", plain.Body.Error.Param);
    }
}
