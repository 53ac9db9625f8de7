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
}
