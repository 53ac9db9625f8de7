using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using MonkeyCoder.Core.Configuration;
using MonkeyCoder.Core.Limits;

namespace MonkeyCoder.Tests.Hosting;

public sealed class ConfigurationErrorsTests
{
    private static IConfiguration Config(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    [Fact]
    public void Describe_GeneratedRangeFailure_NamesVariableKeyValueAndRange()
    {
        var configuration = Config(new() { ["MonkeyCoder:Limits:RequestsPerMinute"] = "0" });
        var result = new LimitOptionsValidator().Validate(Options.DefaultName, new LimitOptions { RequestsPerMinute = 0 });
        var ex = new OptionsValidationException(Options.DefaultName, typeof(LimitOptions), result.Failures!);

        Assert.True(ConfigurationErrors.IsConfigurationError(ex));
        var line = Assert.Single(ConfigurationErrors.Describe(ex, configuration));
        Assert.Equal("RATE_LIMIT_REQUESTS_PER_MINUTE (MonkeyCoder:Limits:RequestsPerMinute) = \"0\": must be between 1 and 10000000.", line);
    }

    [Fact]
    public void Describe_UnconvertibleValue_SaysWhatIsExpected()
    {
        var ex = new InvalidOperationException("Failed to convert configuration value at 'MonkeyCoder:Hosting:DrainSeconds' to type 'System.Int32'.");
        var line = Assert.Single(ConfigurationErrors.Describe(ex, Config(new() { ["MonkeyCoder:Hosting:DrainSeconds"] = "soon" })));
        Assert.StartsWith("DRAIN_SECONDS (MonkeyCoder:Hosting:DrainSeconds) = \"soon\": must be a whole number", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_SecretValue_IsHidden()
    {
        var ex = new InvalidOperationException("JWT_SECRET_KEY (MonkeyCoder:Auth:JwtSecretKey) must be 32 to 4096 characters.");
        var line = Assert.Single(ConfigurationErrors.Describe(ex, Config(new() { ["MonkeyCoder:Auth:JwtSecretKey"] = "hunter2" })));
        Assert.Equal("JWT_SECRET_KEY (MonkeyCoder:Auth:JwtSecretKey) = set (value hidden): must be 32 to 4096 characters.", line);
    }

    [Fact]
    public void IsConfigurationError_ProgramFault_False() =>
        Assert.False(ConfigurationErrors.IsConfigurationError(new InvalidOperationException("Sequence contains no elements")));

    [Theory]
    [InlineData("development", null, true)]
    [InlineData("test", null, true)]
    [InlineData("staging", null, false)]
    [InlineData("production", null, false)]
    [InlineData("production", "true", true)]
    [InlineData("development", "false", false)]
    public void SimulatedEnabled_DefaultsByEnvironment(string environment, string? setting, bool expected)
    {
        var configuration = Config(new() { ["MonkeyCoder:Hosting:Environment"] = environment, ["MonkeyCoder:Simulated:Enabled"] = setting });
        Assert.Equal(expected, DeploymentPolicy.SimulatedEnabled(configuration));
    }

    [Fact]
    public void Refusals_ProductionWithoutProvider_RefusesUnlessAProviderOrSimulatedOnPurpose()
    {
        Assert.Contains("no AI provider is configured", Assert.Single(DeploymentPolicy.Refusals(Config(new() { ["MonkeyCoder:Hosting:Environment"] = "production" }))), StringComparison.Ordinal);
        Assert.Empty(DeploymentPolicy.Refusals(Config(new() { ["MonkeyCoder:Hosting:Environment"] = "production", ["MonkeyCoder:Providers:openai:ApiKey"] = "sk-x" })));
        Assert.Empty(DeploymentPolicy.Refusals(Config(new() { ["MonkeyCoder:Hosting:Environment"] = "production", ["MonkeyCoder:Simulated:Enabled"] = "true" })));
        Assert.Empty(DeploymentPolicy.Refusals(Config(new() { ["MonkeyCoder:Hosting:Environment"] = "staging" })));
    }
}
