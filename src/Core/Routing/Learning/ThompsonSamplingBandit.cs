using Microsoft.Extensions.Options;

namespace MonkeyCoder.Core.Routing.Learning;

/// <summary>
/// One model the bandit may choose: its prior mean (from the static score), what was observed for
/// it on this task type (<paramref name="Stats"/>) and over every task type (<paramref name="Shared"/>,
/// the prior it backs off to), and the penalty the router subtracts from its draw for latency and
/// cost relative to the other candidates.
/// </summary>
internal readonly record struct BanditArm(string Key, double PriorMean, ModelStats Stats, ModelStats? Shared = null, double Penalty = 0);

/// <summary>
/// The bandit's pick and the numbers behind it, for the plan's reasons. <paramref name="Forced"/> is
/// set when the pick was the exploration floor's (a starved model), not the highest draw.
/// </summary>
internal sealed record BanditChoice(int Index, IReadOnlyList<double> Draws, IReadOnlyList<double> PosteriorMeans, bool Forced = false);

/// <summary>
/// Thompson sampling over Beta posteriors (see src/Core/Routing/README.md). Each arm's posterior is
/// Beta(PriorStrength·m + k·μ + α, PriorStrength·(1 − m) + k·(1 − μ) + β), where m is the prior mean
/// from the static score, μ the model's mean reward on other task types backed by k ≤
/// SharedPriorWeight pseudo-observations, and α/β the decayed reward evidence on this task type.
/// One draw per arm minus the arm's latency/cost penalty; the highest wins. The exploration rate r
/// shrinks a draw towards its posterior mean: θ = mean + r·(draw − mean), so r = 0 exploits the
/// mean and r = 1 is plain Thompson sampling. Before any draw, the exploration floor sends the call
/// to the arm furthest below its share (ExplorationFloor / arms) of the recent attempts.
/// </summary>
internal sealed class ThompsonSamplingBandit(IOptions<RoutingOptions> options, BanditRandom random)
{
    public const string Name = "thompson";

    private readonly RoutingOptions _options = options.Value;

    public BanditChoice Choose(IReadOnlyList<BanditArm> arms)
    {
        ArgumentOutOfRangeException.ThrowIfZero(arms.Count);
        var draws = new double[arms.Count];
        var means = new double[arms.Count];
        var best = 0;
        for (var i = 0; i < arms.Count; i++)
        {
            var (a, b) = Posterior(arms[i]);
            means[i] = a / (a + b);
            var draw = _options.ExplorationRate > 0 ? random.NextBeta(a, b) : means[i];
            draws[i] = means[i] + _options.ExplorationRate * (draw - means[i]) - arms[i].Penalty;
            if (draws[i] > draws[best])
            {
                best = i;
            }
        }

        return Starved(arms) is { } starved ? new BanditChoice(starved, draws, means, Forced: true) : new BanditChoice(best, draws, means);
    }

    /// <summary>
    /// The arm furthest below its floor share of the recent (time-decayed) attempts of this task type,
    /// or null when every arm has its share, the floor is off, or there is too little history to judge.
    /// </summary>
    private int? Starved(IReadOnlyList<BanditArm> arms)
    {
        if (_options.ExplorationFloor <= 0 || arms.Count < 2)
        {
            return null;
        }

        var total = arms.Sum(a => a.Stats.Attempts);
        var floor = _options.ExplorationFloor / arms.Count * total;
        // Until each arm could have had one attempt of its share, the prior and the draws explore.
        if (floor < 1)
        {
            return null;
        }

        int? starved = null;
        for (var i = 0; i < arms.Count; i++)
        {
            if (arms[i].Stats.Attempts < floor && (starved is null || arms[i].Stats.Attempts < arms[starved.Value].Stats.Attempts))
            {
                starved = i;
            }
        }

        return starved;
    }

    /// <summary>Beta parameters of an arm's posterior.</summary>
    public (double Alpha, double Beta) Posterior(BanditArm arm)
    {
        var m = Math.Clamp(arm.PriorMean, 0.01, 0.99);
        var alpha = _options.PriorStrength * m;
        var beta = _options.PriorStrength * (1 - m);
        if (arm.Shared is { } shared && _options.SharedPriorWeight > 0)
        {
            // The model's evidence on other task types (its shared statistics hold this task's too).
            var otherAlpha = Math.Max(0, shared.Alpha - arm.Stats.Alpha);
            var otherBeta = Math.Max(0, shared.Beta - arm.Stats.Beta);
            var other = otherAlpha + otherBeta;
            if (other > 0)
            {
                var k = Math.Min(other, _options.SharedPriorWeight);
                alpha += k * otherAlpha / other;
                beta += k * otherBeta / other;
            }
        }

        return (alpha + arm.Stats.Alpha, beta + arm.Stats.Beta);
    }
}

/// <summary>
/// The router's source of randomness: one seeded <see cref="Random"/> behind a lock, so a test (or
/// an operator chasing a routing decision) can replay the same draws with the same seed.
/// </summary>
internal sealed class BanditRandom(int seed)
{
    private readonly Random _random = seed == 0 ? new Random() : new Random(seed);
    private readonly Lock _gate = new();

    public double NextDouble()
    {
        lock (_gate)
        {
            return _random.NextDouble();
        }
    }

    /// <summary>A draw from Beta(a, b) as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b).</summary>
    public double NextBeta(double a, double b)
    {
        lock (_gate)
        {
            var x = Gamma(a);
            var y = Gamma(b);
            return x + y <= 0 ? 0.5 : x / (x + y);
        }
    }

    /// <summary>Marsaglia–Tsang (2000); shape &lt; 1 boosted by U^(1/shape).</summary>
    private double Gamma(double shape)
    {
        if (shape < 1)
        {
            return Gamma(shape + 1) * Math.Pow(Uniform(), 1 / shape);
        }

        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal();
                v = 1 + c * x;
            }
            while (v <= 0);

            v = v * v * v;
            var u = Uniform();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v)))
            {
                return d * v;
            }
        }
    }

    private double Uniform()
    {
        double u;
        do
        {
            u = _random.NextDouble();
        }
        while (u <= double.Epsilon);

        return u;
    }

    /// <summary>Box–Muller.</summary>
    private double Normal() => Math.Sqrt(-2 * Math.Log(Uniform())) * Math.Cos(2 * Math.PI * _random.NextDouble());
}
