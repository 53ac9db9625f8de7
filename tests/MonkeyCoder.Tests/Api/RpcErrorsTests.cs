using Google.Rpc;
using Grpc.Core;
using MonkeyCoder.Core.Api;

namespace MonkeyCoder.Tests.Api;

public sealed class RpcErrorsTests
{
    [Fact]
    public void ResourceExhausted_CarriesRetryInfoAndTheSamePushbackTrailer()
    {
        var ex = RpcErrors.ResourceExhausted("RATE_LIMITED", "slow down", TimeSpan.FromMilliseconds(1500.2));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal(TimeSpan.FromMilliseconds(1500.2), ex.GetRpcStatus()!.GetDetail<RetryInfo>().RetryDelay.ToTimeSpan());
        Assert.Equal("1501", ex.Trailers.GetValue(RpcErrors.RetryPushbackTrailer));
    }

    [Fact]
    public void WithoutRetryDelay_NoPushbackTrailer()
    {
        var ex = RpcErrors.Unavailable("PROVIDER_UNAVAILABLE", "down");

        Assert.Null(ex.GetRpcStatus()!.GetDetail<RetryInfo>());
        Assert.Null(ex.Trailers.GetValue(RpcErrors.RetryPushbackTrailer));
    }
}
