using MonkeyCoder.EndToEnd.Tests.Infrastructure;

namespace MonkeyCoder.EndToEnd.Tests.Cli;

/// <summary>
/// The Service for the CLI tests, with the simulated provider slowed to 100 tokens/s so a
/// default-length answer streams for 1–4 s: long enough to press Ctrl-C in the middle of it.
/// Authentication is off here so precedence tests can pass any key; CliRealAuthTests checks the
/// CLI against a Service that enforces it.
/// </summary>
public sealed class CliServiceFixture : ServiceFixture
{
    protected override IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["SIMULATED_TOKENS_PER_SECOND"] = "100",
        ["AUTH_ENABLED"] = "false",
    };
}

[CollectionDefinition(Name)]
public sealed class CliCollection : ICollectionFixture<CliServiceFixture>
{
    public const string Name = "cli";
}
