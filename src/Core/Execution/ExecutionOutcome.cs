using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Execution;

/// <summary>
/// One try against one model: "ok" or the error class, with its timing and usage (what the provider
/// bills for it, also for a broken stream). <see cref="DeliveredTokens"/> counts the tokens of this
/// attempt's text that reached the caller (a recovered answer is split over several attempts).
/// </summary>
internal sealed record AttemptRecord(
    CatalogModel Model,
    string Outcome,
    TimeSpan Latency,
    TimeSpan? TimeToFirstToken,
    TokenUsage Usage,
    string? ErrorDetail = null,
    long DeliveredTokens = 0)
{
    public bool Succeeded => Outcome == "ok";

    /// <summary>What this attempt cost at the catalog's prices (nothing when it consumed no tokens).</summary>
    public double CostUsd => Model.CostOf(Usage);

    /// <summary>The billed total of a set of attempts.</summary>
    public static Usage.BilledUsage Bill(IEnumerable<AttemptRecord> attempts)
    {
        var total = default(Usage.BilledUsage);
        foreach (var a in attempts)
        {
            total += new Usage.BilledUsage(a.Usage.InputTokens, a.Usage.OutputTokens, a.CostUsd);
        }

        return total;
    }
}

/// <summary>The result of running a plan: the answer, the model that gave it, usage and every attempt.</summary>
internal sealed record ExecutionOutcome
{
    public required string ExecutionId { get; init; }

    public required string Content { get; init; }

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

/// <summary>
/// What a streaming execution yields: content deltas, then exactly one completion. A delta names
/// the model that wrote it (<see cref="Model"/>), which after an unseen failover is not the plan's first candidate.
/// </summary>
internal readonly record struct ExecutionEvent(string? Delta, ExecutionOutcome? Completed, CatalogModel? Model = null)
{
    public static ExecutionEvent Content(string text, CatalogModel model) => new(text, null, model);

    public static ExecutionEvent Done(ExecutionOutcome outcome) => new(null, outcome, outcome.Model);
}
