using System.Text.Json;
using System.Text.Json.Serialization;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Providers.Simulated;

/// <summary>
/// One simulated model of the market: its catalog entry (prices, window, capability scores, typical
/// latency) and how it behaves — latency, error rate and the quality a simulated user would rate
/// its answers (1–5) — overall and per task type (<see cref="Tasks"/>, keyed by task type such as
/// "code_generation" or "documentation"). Settable, so the JSON source generator leaves what a
/// file omits at its default (it sets omitted init-only members to their type's default).
/// </summary>
internal sealed record SimulatedMarketModel
{
    public required string Id { get; set; }

    public string? DisplayName { get; set; }

    public int ContextWindow { get; set; } = 128_000;

    public int MaxOutputTokens { get; set; } = 16_384;

    /// <summary>US dollars per 1M input tokens.</summary>
    public double InputPricePerMillion { get; set; }

    /// <summary>US dollars per 1M output tokens.</summary>
    public double OutputPricePerMillion { get; set; }

    /// <summary>What the catalog (and so the router's static score) claims; not what the model does.</summary>
    public ModelScores? Capabilities { get; set; }

    /// <summary>Catalog latency, in ms; defaults to <see cref="LatencyMs"/>.</summary>
    public int? TypicalLatencyMs { get; set; }

    /// <summary>Actual time before the first token, in ms; null = SIMULATED_FIRST_TOKEN_DELAY_MS.</summary>
    public int? LatencyMs { get; set; }

    /// <summary>Share of calls that fail as overloaded (0–1), after the latency. Defaults to 0.</summary>
    public double ErrorRate { get; set; }

    /// <summary>Rating (1–5) a simulated user gives its answers. Defaults to 3.</summary>
    public double Quality { get; set; } = 3;

    /// <summary>Overrides by task type ("code_generation", "documentation", …).</summary>
    public Dictionary<string, SimulatedTaskBehaviour>? Tasks { get; set; }

    /// <summary>What the model does on <paramref name="taskType"/>.</summary>
    public SimulatedBehaviour For(TaskType taskType)
    {
        var task = Tasks?.GetValueOrDefault(SimulatedMarket.TaskKey(taskType));
        return new SimulatedBehaviour(task?.LatencyMs ?? LatencyMs, task?.ErrorRate ?? ErrorRate, task?.Quality ?? Quality);
    }

    internal CatalogModel ToCatalogModel() => new()
    {
        Id = Id,
        Provider = SimulatedProvider.Name,
        DisplayName = DisplayName ?? Id,
        ContextWindow = ContextWindow,
        MaxOutputTokens = MaxOutputTokens,
        InputPricePerMillion = InputPricePerMillion,
        OutputPricePerMillion = OutputPricePerMillion,
        Capabilities = Capabilities ?? new ModelScores(),
        TypicalLatencyMs = TypicalLatencyMs ?? LatencyMs ?? 0,
    };
}

/// <summary>Per-task-type overrides of a simulated model; null fields keep the model's own.</summary>
internal sealed record SimulatedTaskBehaviour
{
    public int? LatencyMs { get; set; }

    public double? ErrorRate { get; set; }

    public double? Quality { get; set; }
}

/// <summary>How a simulated model behaves on one task type.</summary>
internal readonly record struct SimulatedBehaviour(int? LatencyMs, double ErrorRate, double Quality);

/// <summary>The market file: models, and the seed of the error draws (0 = from the clock).</summary>
internal sealed record SimulatedMarketDocument
{
    public List<SimulatedMarketModel> Models { get; set; } = [];

    public int Seed { get; set; }
}

[JsonSerializable(typeof(SimulatedMarketDocument))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
    PropertyNameCaseInsensitive = true)]
internal sealed partial class SimulatedMarketJsonContext : JsonSerializerContext;
