using Microsoft.Extensions.Configuration;
using MonkeyCoder.Core.Hosting;

namespace MonkeyCoder.Tests.Hosting;

/// <summary>The one switch of the test hooks: off by default, on when asked outside production, refused in production.</summary>
public sealed class TestHooksTests
{
    private static IConfiguration Configuration(string environment, string? hooks) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["MonkeyCoder:Hosting:Environment"] = environment,
        ["MonkeyCoder:Diagnostics:EnableTestHooks"] = hooks,
    }).Build();

    [Fact]
    public void From_SwitchOnInProduction_Refused()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => TestHooks.From(Configuration("production", "true")));
        Assert.Contains("EnableTestHooks", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("production", null)]
    [InlineData("development", null)]
    [InlineData("development", "false")]
    public void From_SwitchOff_NoFaultStepAndKeyPrintedToStdout(string environment, string? hooks)
    {
        var off = TestHooks.From(Configuration(environment, hooks));

        Assert.False(off.Enabled);
        Assert.Null(off.FaultInjection);
        Assert.Same(Console.Out, off.BootstrapOutput);
    }

    [Fact]
    public void From_SwitchOnOutsideProduction_FaultStepPresent()
    {
        var on = TestHooks.From(Configuration("test", "true"));

        Assert.True(on.Enabled);
        Assert.NotNull(on.FaultInjection);
    }
}
