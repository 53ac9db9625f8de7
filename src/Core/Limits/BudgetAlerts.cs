using System.Globalization;
using Microsoft.Extensions.Logging;

namespace MonkeyCoder.Core.Limits;

/// <summary>
/// Alerts through the webhook (<see cref="Observability.ProviderAlertNotifier"/>) when a settlement
/// takes a key's or user's monthly spend across 80 % or 100 % of its budget. The spend after the
/// settlement comes from the limiter's atomic increment, so exactly one settlement crosses each
/// threshold, across every replica: one alert per budget, threshold and month. Because holds keep
/// spend within the budget, spend rarely reaches 100 % exactly: the budget also counts as used up
/// (the 100 % alert) at its first refusal of the month, flagged once across replicas by the limiter.
/// </summary>
internal sealed partial class BudgetAlerts(ILogger<BudgetAlerts> logger, Observability.ProviderAlertNotifier? notifier = null)
{
    private static readonly double[] Thresholds = [0.8, 1.0];

    public void Check(LimitRequest request, SpendTotals totals, long costMicros)
    {
        if (costMicros <= 0)
        {
            return;
        }

        if (request.KeyId is not null && request.KeyBudgetMicros is { } keyBudget)
        {
            Check("key " + request.KeyId + " (user " + request.UserId + ")", keyBudget, totals.KeySpentMicros, costMicros);
        }

        if (request.UserBudgetMicros is { } userBudget)
        {
            Check("user " + request.UserId, userBudget, totals.UserSpentMicros, costMicros);
        }
    }

    /// <summary>The first refusal of a budget this month: it is used up for calls of this size.</summary>
    public void Exhausted(LimitRequest request, string scope, long holdMicros, long remainingMicros)
    {
        var subject = scope == "key" ? "key " + request.KeyId + " (user " + request.UserId + ")" : "user " + request.UserId;
        var budget = (scope == "key" ? request.KeyBudgetMicros : request.UserBudgetMicros) ?? 0;
        Log.Crossed(logger, subject, "100");
        notifier?.TrySend($":no_entry: budget of {subject} is used up this month (100 %): {Usd(Math.Max(0, remainingMicros))} of {Usd(budget)} left, "
            + $"a call that may cost {Usd(holdMicros)} was refused.");
    }

    private void Check(string subject, long budget, long spent, long cost)
    {
        if (spent < 0)
        {
            return;
        }

        var before = spent - cost;
        foreach (var threshold in Thresholds)
        {
            var line = (long)Math.Ceiling(budget * threshold);
            if (before < line && spent >= line)
            {
                var percent = (threshold * 100).ToString("0", CultureInfo.InvariantCulture);
                Log.Crossed(logger, subject, percent);
                notifier?.TrySend($":money_with_wings: budget of {subject} is {percent} % spent this month: {Usd(spent)} of {Usd(budget)}.");
            }
        }
    }

    private static string Usd(long micros) => (micros / 1_000_000d).ToString("0.######", CultureInfo.InvariantCulture) + " USD";

    private static partial class Log
    {
        [LoggerMessage(EventId = Observability.EventIds.BudgetAlert, Level = LogLevel.Warning, Message = "Monthly budget of {Subject} crossed {Percent} %")]
        public static partial void Crossed(ILogger logger, string subject, string percent);
    }
}
