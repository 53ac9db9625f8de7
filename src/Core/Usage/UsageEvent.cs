using System.Text.Json.Serialization;

namespace MonkeyCoder.Core.Usage;

/// <summary>One execution as accounted: who ran what, which model answered, tokens, cost, every attempt.</summary>
internal sealed record UsageEvent
{
    public required string ExecutionId { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required string PrincipalId { get; init; }

    public string? ApiKeyId { get; init; }

    /// <summary>monkeycoder.v1.TaskType number.</summary>
    public int TaskType { get; init; }

    /// <summary>monkeycoder.v1.Strategy number.</summary>
    public int Strategy { get; init; }

    /// <summary>The provider and model that answered; empty when none did.</summary>
    public string Provider { get; init; } = "";

    public string Model { get; init; } = "";

    /// <summary>monkeycoder.v1.ExecutionStatus number.</summary>
    public int Status { get; init; }

    public string ErrorClass { get; init; } = "";

    public long InputTokens { get; init; }

    public long OutputTokens { get; init; }

    public double CostUsd { get; init; }

    /// <summary>Of <see cref="InputTokens"/>, those read from the provider's prompt cache (priced lower).</summary>
    public long CachedInputTokens { get; init; }

    /// <summary>Of <see cref="InputTokens"/>, those written to the provider's prompt cache.</summary>
    public long CacheWriteInputTokens { get; init; }

    /// <summary>Tokens and cost summed over every attempt that consumed provider tokens (<see cref="BilledUsage"/>).</summary>
    public long BilledInputTokens { get; init; }

    public long BilledOutputTokens { get; init; }

    public double BilledCostUsd { get; init; }

    [JsonIgnore]
    public BilledUsage Billed => new(BilledInputTokens, BilledOutputTokens, BilledCostUsd);

    public double LatencyMs { get; init; }

    public double? TimeToFirstTokenMs { get; init; }

    public bool CacheHit { get; init; }

    public IReadOnlyList<UsageAttempt> Attempts { get; init; } = [];
}

/// <summary>One attempt inside a usage event (stored as JSON).</summary>
internal sealed record UsageAttempt(
    string Provider,
    string Model,
    string Outcome,
    double LatencyMs,
    double? TimeToFirstTokenMs,
    long InputTokens,
    long OutputTokens,
    double CostUsd);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(UsageEvent))]
[JsonSerializable(typeof(IReadOnlyList<UsageAttempt>))]
[JsonSerializable(typeof(UsageSpillHeader))]
internal sealed partial class UsageJsonContext : JsonSerializerContext;
