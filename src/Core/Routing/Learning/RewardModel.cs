using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// Turns an attempt or a rating into a reward in [0, 1] for the bandit:
/// success → 1 − LatencyWeight·min(1, latency/LatencyTarget) − CostWeight·min(1, cost/CostTarget);
/// failure the model is responsible for → 0; failures caused by the request (context too long,
/// invalid request, content filtered) or by our own credentials → no update at all;
/// a rating r of 1–5 → (r − 1)/4 with weight FeedbackWeight.
/// </summary>
public sealed class RewardModel(RoutingOptions options)
{
    public StatsUpdate ForAttempt(AttemptObservation attempt, ProviderErrorClass? errorClass)
    {
        if (attempt.Succeeded)
        {
            var latency = options.LatencyWeight * Math.Min(1, attempt.LatencyMs / options.LatencyTargetMs);
            var cost = options.CostWeight * Math.Min(1, attempt.CostUsd / options.CostTargetUsd);
            return new StatsUpdate(Math.Clamp(1 - latency - cost, 0, 1), 1, attempt);
        }

        var counts = errorClass is not (ProviderErrorClass.ContextLengthExceeded or ProviderErrorClass.InvalidRequest
            or ProviderErrorClass.ContentFiltered or ProviderErrorClass.Authentication);
        return new StatsUpdate(0, counts ? 1 : 0, attempt);
    }

    public StatsUpdate ForRating(int rating) => new((Math.Clamp(rating, 1, 5) - 1) / 4.0, options.FeedbackWeight, null);
}
