using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// Turns an attempt or a rating into a reward in [0, 1] for the bandit (weights in
/// <see cref="RoutingOptions"/>, see src/Core/Routing/README.md):
/// success → <see cref="SuccessReward"/> (0.9); failure the model is responsible for → 0; failures caused by the request (context
/// too long, invalid request, content filtered) or by our own credentials → no update at all;
/// a rating r of 1–5 → (r − 1)/4 with weight FeedbackWeight. Latency and cost are not folded in
/// here: they are compared with the task's other candidates when the router ranks them, where the
/// peers are known (LatencyWeight, CostWeight).
/// </summary>
internal sealed class RewardModel(RoutingOptions options)
{
    /// <summary>
    /// An unrated success: the ceiling of the static prior (the best-scored model starts at 0.9), so
    /// a model that merely answers neither overtakes an untried better-scored one nor trails it; a
    /// rating of 4–5 lifts it above, 1–3 below.
    /// </summary>
    public const double SuccessReward = 0.9;

    public StatsUpdate ForAttempt(AttemptObservation attempt, ProviderErrorClass? errorClass)
    {
        if (attempt.Succeeded)
        {
            return new StatsUpdate(SuccessReward, 1, attempt);
        }

        var counts = errorClass is not (ProviderErrorClass.ContextLengthExceeded or ProviderErrorClass.InvalidRequest
            or ProviderErrorClass.ContentFiltered or ProviderErrorClass.Authentication);
        return new StatsUpdate(0, counts ? 1 : 0, attempt);
    }

    public StatsUpdate ForRating(int rating) => new((Math.Clamp(rating, 1, 5) - 1) / 4.0, options.FeedbackWeight, null);
}
