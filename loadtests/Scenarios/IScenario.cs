using MonkeyCoder.LoadTests.Engine;

namespace MonkeyCoder.LoadTests.Scenarios;

/// <summary>A named scenario: starts what it targets, runs its phases, checks its thresholds.</summary>
public interface IScenario
{
    string Name { get; }

    string Description { get; }

    Task<ScenarioResult> RunAsync(RunContext context, CancellationToken cancellationToken);
}

public sealed class ScenarioResult
{
    public required string Name { get; init; }

    public required string Description { get; init; }

    /// <summary>What was targeted, and with which environment.</summary>
    public List<string> Targets { get; } = [];

    public List<PhaseResult> Phases { get; } = [];

    /// <summary>Numbers across phases (ratios ours/echo, …).</summary>
    public Dictionary<string, double> Summary { get; } = [];

    public List<ThresholdResult> Thresholds { get; } = [];

    public List<string> Notes { get; } = [];

    /// <summary>Extra charts of the scenario (file name → SVG), written beside the phase charts.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Dictionary<string, string> Charts { get; } = [];

    /// <summary>Set when the scenario could not run at all (host failed to start, …).</summary>
    public string? Crashed { get; set; }

    public bool Passed => Crashed is null && Thresholds.All(t => t.Passed) && Phases.All(p => p.Passed);
}
