using MonkeyCoder.Core.Providers;

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
