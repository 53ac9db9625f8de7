using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MonkeyCoder.Core.Observability;

namespace MonkeyCoder.Tests.Observability;

public sealed class ObservabilityExtensionsTests
{
    [Fact]
    public void AddMonkeyCoderObservability_FaultInjectionInProduction_Refused()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MonkeyCoder:Hosting:Environment"] = "production",
            ["MonkeyCoder:Diagnostics:EnableFaultInjection"] = "true",
        }).Build();

        var ex = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddMonkeyCoderObservability(configuration));
        Assert.Contains("EnableFaultInjection", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/monkeycoder.v1.RouterService/Execute", "RouterService/Execute")]
    [InlineData("/grpc.health.v1.Health/Check", "Health/Check")]
    [InlineData("/Plain/Method", "Plain/Method")]
    public void RpcName_FullMethod_ServiceAndMethod(string method, string expected) =>
        Assert.Equal(expected, TelemetryInterceptor.RpcName(method));
}
