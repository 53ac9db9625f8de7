using MonkeyCoder.Core.Calls;

namespace MonkeyCoder.Tests.Calls;

public sealed class RpcNameTests
{
    [Theory]
    [InlineData("/monkeycoder.v1.RouterService/Execute", "RouterService/Execute")]
    [InlineData("/grpc.health.v1.Health/Check", "Health/Check")]
    [InlineData("/Plain/Method", "Plain/Method")]
    public void RpcName_FullMethod_ServiceAndMethod(string method, string expected) =>
        Assert.Equal(expected, TelemetryStep.RpcName(method));
}
