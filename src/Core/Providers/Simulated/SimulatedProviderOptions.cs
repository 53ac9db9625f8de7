using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Providers.Simulated;

/// <summary>The built-in simulated provider. Section <c>MonkeyCoder:Simulated</c>.</summary>
public sealed class SimulatedProviderOptions
{
    public const string Section = "MonkeyCoder:Simulated";

    /// <summary>
    /// <c>SIMULATED_ENABLED</c>. Defaults to true in development and test, false in staging and
    /// production (<see cref="Configuration.DeploymentPolicy.SimulatedEnabled"/> resolves it).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>SIMULATED_FIRST_TOKEN_DELAY_MS</c>: time before the first token, in ms. Defaults to 150 ms.</summary>
    [Range(0, 600_000, ErrorMessage = "SIMULATED_FIRST_TOKEN_DELAY_MS (MonkeyCoder:Simulated:FirstTokenDelayMs) must be between 0 and 600000.")]
    public int FirstTokenDelayMs { get; set; } = 150;

    /// <summary><c>SIMULATED_TOKENS_PER_SECOND</c>: generation speed after the first token; 0 = instant. Defaults to 400.</summary>
    [Range(0, 1_000_000, ErrorMessage = "SIMULATED_TOKENS_PER_SECOND (MonkeyCoder:Simulated:TokensPerSecond) must be between 0 and 1000000.")]
    public int TokensPerSecond { get; set; } = 400;

    /// <summary>
    /// <c>SIMULATED_MARKET_PATH</c>: a JSON file describing a market of simulated models (prices,
    /// capabilities, and per task type latency, error rate and the quality a user would rate), read
    /// again while running when it changes (src/Core/Providers/README.md). Defaults to none: sim-fast
    /// and sim-pro from the catalog, no errors, the delay and speed above.
    /// </summary>
    public string? MarketPath { get; set; }

    /// <summary>Most content deltas per second of one stream (tokens are grouped to stay under it). Defaults to 20.</summary>
    [Range(1, 1000, ErrorMessage = "MonkeyCoder:Simulated:MaxDeltasPerSecond must be between 1 and 1000.")]
    public int MaxDeltasPerSecond { get; set; } = 20;
}

[OptionsValidator]
internal sealed partial class SimulatedProviderOptionsValidator : IValidateOptions<SimulatedProviderOptions>;
