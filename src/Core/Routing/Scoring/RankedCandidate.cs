namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>A scored candidate: what the plan shows, the draft behind it, and its score with the catalog's reliability (the bandit's prior).</summary>
internal sealed record RankedCandidate(RouteCandidate Candidate, CandidateDraft Draft, double PriorScore)
{
    /// <summary>The candidate's reasons (the router owns the list while it plans).</summary>
    public ReasonList Reasons => (ReasonList)Candidate.Reasons;

    /// <summary>The candidate's breakdown (the router owns the dictionary while it plans).</summary>
    public Dictionary<string, double> Breakdown => (Dictionary<string, double>)Candidate.Breakdown;
}
