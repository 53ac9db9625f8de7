using MonkeyCoder.Core.Execution.Resilience;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.V1;
using static MonkeyCoder.Core.Routing.Scoring.Explain;

namespace MonkeyCoder.Core.Routing.Scoring;

/// <summary>
/// Health: ×DegradedMultiplier (0.85) or ×UnhealthyMultiplier (0.5) for a degraded or unhealthy
/// provider (<see cref="ProviderHealthMonitor"/>). A model's open circuit does not change its score:
/// the router orders it after every closed one ("tried last"); half-open is explained.
/// </summary>
internal sealed class HealthRule(RoutingScoringOptions weights)
{
    /// <summary>The multiplier for the provider's health; adds its reasons and breakdown entry, and the circuit's reason.</summary>
    public double Apply(ProviderHealth provider, CircuitStatus circuit, ICollection<string> reasons, Dictionary<string, double> breakdown)
    {
        var multiplier = 1.0;
        if (provider.State != HealthState.Healthy)
        {
            multiplier = provider.State == HealthState.Degraded ? weights.DegradedMultiplier : weights.UnhealthyMultiplier;
            breakdown["health"] = multiplier;
            reasons.Add(Inv($"provider {Lower(provider.State)}: {provider.Detail} (×{multiplier:0.00})"));
        }

        if (circuit.State == CircuitState.Open)
        {
            reasons.Add(Inv($"circuit open for {circuit.RetryAfter.TotalSeconds:0.#} s more after {circuit.ConsecutiveFailures} consecutive failures: tried last"));
        }
        else if (circuit.State == CircuitState.HalfOpen)
        {
            reasons.Add("circuit half-open: the next call probes it");
        }

        return multiplier;
    }

    /// <summary>Open circuits go after every closed (or half-open) one.</summary>
    public static int OrderKey(CircuitStatus circuit) => circuit.State == CircuitState.Open ? 1 : 0;
}
