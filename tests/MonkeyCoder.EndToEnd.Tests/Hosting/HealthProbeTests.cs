using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Hosting;

/// <summary>`monkey-coder-service healthcheck`: the Docker HEALTHCHECK of a shell-less image.</summary>
[Collection(ServiceCollection.Name)]
public sealed class HealthProbeTests(ServiceFixture fixture)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string> Port(int port) => new() { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    [Fact]
    public async Task Healthcheck_RunningService_ExitsZeroServing()
    {
        var (exitCode, output) = await HostProcess.RunServiceCommandAsync(Port(fixture.Host.Port), Limit, "healthcheck");
        Assert.True(exitCode == 0, output);
        Assert.Contains("Serving", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthcheck_RouterServiceName_ExitsZero()
    {
        var (exitCode, output) = await HostProcess.RunServiceCommandAsync(Port(fixture.Host.Port), Limit, "healthcheck", "monkeycoder.v1.RouterService");
        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task Healthcheck_UnknownServiceName_ExitsOne()
    {
        var (exitCode, output) = await HostProcess.RunServiceCommandAsync(Port(fixture.Host.Port), Limit, "healthcheck", "no.such.Service");
        Assert.True(exitCode == 1, output);
        Assert.Contains("NotFound", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthcheck_NothingListening_ExitsOne()
    {
        var (exitCode, output) = await HostProcess.RunServiceCommandAsync(Port(HostProcess.FreePort()), Limit, "healthcheck");
        Assert.True(exitCode == 1, output);
        Assert.Contains("Unavailable", output, StringComparison.Ordinal);
    }
}

/// <summary>`monkey-coder-gateway healthcheck`: the REST image's Docker HEALTHCHECK.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayHealthProbeTests(GatewayFixture fixture)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string> Port(int port) => new() { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    [Fact]
    public async Task Healthcheck_RunningGateway_ExitsZero()
    {
        var (exitCode, output) = await HostProcess.RunGatewayCommandAsync(Port(fixture.Host.Port), Limit, "healthcheck");
        Assert.True(exitCode == 0, output);
        Assert.Contains("/healthz: 200", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthcheck_ReadyzPath_ExitsZero()
    {
        var (exitCode, output) = await HostProcess.RunGatewayCommandAsync(Port(fixture.Host.Port), Limit, "healthcheck", "/readyz");
        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task Healthcheck_NothingListening_ExitsOne()
    {
        var (exitCode, output) = await HostProcess.RunGatewayCommandAsync(Port(HostProcess.FreePort()), Limit, "healthcheck");
        Assert.True(exitCode == 1, output);
    }
}
