using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Execution;

/// <summary>The result of running a plan: the answer, the model that gave it, usage and every attempt.</summary>
internal sealed record ExecutionOutcome
{
    public required string ExecutionId { get; init; }

    public required string Content { get; init; }

    /// <summary>The tool calls of the answer, complete, in order; <see cref="FinishReason"/> is then ToolCalls.</summary>
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];

    public required FinishReason FinishReason { get; init; }

    /// <summary>The model that actually answered.</summary>
    public required CatalogModel Model { get; init; }

    /// <summary>Usage of the answering attempt(s): the answer's tokens, as OpenAI reports usage.</summary>
    public required TokenUsage Usage { get; init; }

    /// <summary>Cost of <see cref="Usage"/>.</summary>
    public required double CostUsd { get; init; }

    public required IReadOnlyList<AttemptRecord> Attempts { get; init; }

    /// <summary>
    /// What the providers charged: every attempt's tokens and cost (failed attempts before a
    /// fail-over, cancelled or cut streams, quantum losers, the answer). Zero for a cache hit or a
    /// joined flight, whose outcome carries no attempts. The one source for usage records, limits
    /// and budgets.
    /// </summary>
    public Usage.BilledUsage Billed => AttemptRecord.Bill(Attempts);

    /// <summary>Time spent waiting on providers, all attempts together.</summary>
    public TimeSpan ProviderTime { get; init; }

    /// <summary>From the start of execution to the first content.</summary>
    public TimeSpan? TimeToFirstToken { get; init; }

    public bool CacheHit { get; init; }

    /// <summary>
    /// True when the answer survived a broken upstream stream: it was continued by later attempts
    /// (mid-stream recovery), each of which lists its delivered tokens.
    /// </summary>
    public bool Recovered { get; init; }

    /// <summary>The strategy that produced it: "single", "quantum" or "pipeline".</summary>
    public string Strategy { get; init; } = "single";

    /// <summary>How the answer was reached (quantum collapse, pipeline steps), for logs and tests.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}
