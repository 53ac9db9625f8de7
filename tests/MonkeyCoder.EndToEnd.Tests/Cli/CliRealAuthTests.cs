using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Cli;

/// <summary>The CLI against a Service that enforces authentication (the shared "service" host).</summary>
[Collection(ServiceCollection.Name)]
public sealed class CliRealAuthTests(ServiceFixture fixture) : IDisposable
{
    private readonly CliProcess.Home _home = new();

    [Fact]
    public async Task Implement_NoKey_ExitsThreeWithOneLineReason()
    {
        var result = await CliProcess.RunAsync(_home, fixture.Host.Address, ["implement", "fizzbuzz in python"]);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Contains("CREDENTIAL_MISSING", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Implement_WrongKey_ExitsThree()
    {
        var result = await CliProcess.RunAsync(_home, fixture.Host.Address, ["implement", "fizzbuzz", "--api-key", "mk_wrong00000_000000000000000000000000000000000000000000"]);
        Assert.Equal(3, result.ExitCode);
    }

    [Fact]
    public async Task Implement_AdminKeyFromEnvironment_StreamsAndExitsZero()
    {
        var result = await CliProcess.RunAsync(_home, fixture.Host.Address, ["implement", "fizzbuzz in python", "--max-tokens", "40"],
            environment: new Dictionary<string, string> { ["MONKEY_CODER_API_KEY"] = ServiceFixture.AdminKey });
        Assert.Equal(0, result.ExitCode);
        Assert.False(string.IsNullOrWhiteSpace(result.Stdout));
    }

    public void Dispose() => _home.Dispose();
}
